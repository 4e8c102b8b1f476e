"""model.cv_path_offsets: the offsets of the cross-validation grid chained too (issue 19).

With model.cv_path each (held-out fold, offset) is a chain along lambda, largest first; with
model.cv_path_offsets every lambda of every offset but the first (offset_grid order) starts from the
previous offset's model at the same lambda and fold, so a fold's grid is one cold fit plus warm ones. An offset changes y only, and the objective (eq. 3) is convex: the fit started from
another offset's answer must stop at the optimum a cold fit stops at. The start must be the one the
workflow names (rule train's param ``start``) and the header must say so (WARMFROM, WARMOFF).
"""

import re

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.io.errors import InputFileError
from spectroparallax.model import files, fit, objective
from spectroparallax.model.training import train_fold

from conftest import write_mock_config
from test_cv_path import REL_OBJECTIVE, _kkt_float64, _planned_train_inputs, _training_files
from test_model import _simulate

NAME = re.compile(r"heldout_(\w+)/lambda_([\d.]+)_offset_([\d.]+)\.fits$")
#: Grid order, not sorted order: the chain follows offset_grid as config.yaml lists it.
OFFSETS = ["0.048", "0.029", "0.0"]


@pytest.mark.parametrize("chain_offsets", [True, False])
def test_the_dag_chains_each_folds_offsets_at_every_lambda(config, tmp_path, chain_offsets):
    write_mock_config(config, tmp_path, mode="improved",
                      model={"lambda_grid": [3.0, 30.0, 10.0], "offset_grid": [float(o) for o in OFFSETS],
                             "cv_path": True, "cv_path_offsets": chain_offsets})
    plan = _planned_train_inputs(tmp_path)
    assert len(plan) == 3 * 3 * 2
    for output, starts in plan.items():
        fold, lam, off = NAME.search(output).groups()
        k = OFFSETS.index(off)
        if k > 0 and chain_offsets:     # the previous offset in the grid's order, the same lambda
            expected = (fold, lam, OFFSETS[k - 1])
        elif lam != "30.0":  # along lambda, as model.cv_path alone: the next larger lambda, same offset
            expected = (fold, {"3.0": "10.0", "10.0": "30.0"}[lam], off)
        else:                # the first offset's largest lambda (or every offset's, unchained): cold
            expected = None
        got = [NAME.search(s).groups() for s in starts]
        assert got == ([] if expected is None else [expected]), (output, starts)
    cold = sorted(NAME.search(o).groups() for o, s in plan.items() if not s)
    assert cold == sorted((f, "30.0", off) for f in "AB" for off in (OFFSETS[:1] if chain_offsets else OFFSETS))


@pytest.fixture(scope="module")
def problem():
    return _simulate(n_stars=1200, n_features=250, seed=11)


KW = dict(burn_in_snr=20.0, high_snr_subset="improved", optimizer="exact")


def test_a_fit_warm_from_the_previous_offset_reaches_the_cold_optimum(problem, tmp_path):
    X, index, parent = _training_files(problem, tmp_path)
    y, ivar, pen = np.asarray(parent["parallax"], float), 1 / np.asarray(parent["parallax_error"]) ** 2, problem[3]
    rows = np.flatnonzero(parent["fold"] != "A")   # heldout_A trains on fold B's stars
    lam = 100.0
    first = tmp_path / "heldout_A" / "lambda_100.0_offset_0.029.fits"
    train_fold(first, X, index, parent, "A", lam, 0.029, **KW)
    assert files.read_model(first).meta["WARMFROM"] == "COLD" and files.read_model(first).meta["WARMOFF"] == "COLD"

    second = tmp_path / "heldout_A" / "lambda_100.0_offset_0.048.fits"
    warm = train_fold(second, X, index, parent, "A", lam, 0.048, start=first,
                      start_setting={"lam": lam, "offset": 0.029}, **KW)
    meta = files.read_model(second).meta
    assert warm.burn_in is None and (meta["WARMFROM"], meta["WARMOFF"], meta["OFFSET"]) == (lam, 0.029, 0.048)
    cold = fit(X[rows], y[rows] + 0.048, ivar[rows], pen, lam)
    args = (X[rows], y[rows] + 0.048, ivar[rows], pen, lam)
    f_w, f_c = objective(warm.theta, *args), objective(cold.theta, *args)
    assert warm.converged and abs(f_w - f_c) <= REL_OBJECTIVE * f_c, (f_w, f_c)
    assert _kkt_float64(warm.theta, *args) < 1e-4
    # not a no-op: the start (the other offset's optimum) is measurably worse at this offset
    assert objective(files.read_model(first)["theta"], *args) - f_c > 1e3 * REL_OBJECTIVE * f_c


def test_a_start_from_another_offset_is_refused_unless_the_workflow_names_it(problem, tmp_path):
    X, index, parent = _training_files(problem, tmp_path)
    models = {}
    for fold, off in [("A", 0.029), ("B", 0.029), ("A", 0.0)]:
        models[fold, off] = tmp_path / f"heldout_{fold}" / f"lambda_100.0_offset_{off}.fits"
        train_fold(models[fold, off], X, index, parent, fold, 100.0, off, **KW)
    named = {"lam": 100.0, "offset": 0.029}
    other_pixels = index.copy()
    other_pixels["name"][3] = "f999"   # one pixel of another pixel set
    cases = [
        (models["A", 0.029], None, index, "OFFSET 0.029"),       # another offset, not named: refused
        (models["A", 0.0], named, index, "OFFSET 0.0"),           # another offset than the one named
        (models["B", 0.029], named, index, "HELDOUT B"),          # another fold
        (models["A", 0.029], {"lam": 30.0, "offset": 0.029}, index, "LAM 100.0"),   # another lambda than named
        (models["A", 0.029], named, other_pixels, "features"),   # another pixel / feature set
    ]
    for start, setting, idx, match in cases:
        with pytest.raises(InputFileError, match=match) as info:
            train_fold(tmp_path / "x.fits", X, idx, parent, "A", 100.0, 0.048, start=start, start_setting=setting, **KW)
        assert "\n" not in str(info.value) and str(start) in str(info.value)
    # the named one is taken
    train_fold(tmp_path / "x.fits", X, index, parent, "A", 100.0, 0.048, start=models["A", 0.029],
               start_setting=named, **KW)
    assert files.read_model(tmp_path / "x.fits").meta["WARMOFF"] == 0.029
    # from another offset a smaller lambda is no start (the chain runs from the largest down)
    with pytest.raises(InputFileError, match="larger lambda"):
        train_fold(tmp_path / "y.fits", X, index, parent, "A", 300.0, 0.048, start=models["A", 0.029],
                   start_setting=named, **KW)
