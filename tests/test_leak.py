"""The A/B promise (HER19 sec. 3): no star's own Gaia parallax touches its spectrophotometric one.

A small mock with three folds is run once through the catalog. Then, fold by fold, the Gaia
parallaxes and errors of that fold's stars are scrambled in the Parent Sample and the
workflow is rerun: the model that holds the fold out must come out bit for bit the same, and so
must every spectrophotometric parallax and eq.-5 error of the fold's stars, while the other models,
which did train on the noise, change. A leak (a fold predicted by a model that saw it, models swapped
between folds, a fold label ignored in training) fails this.
"""

import numpy as np
import pytest
from astropy.table import Table

from conftest import copy_run, run_snakemake, write_mock_config

PARENT = "results/mock/samples/parent.fits"
CATALOG = "results/mock/catalog/spectrophotometric_parallaxes.fits"
FOLDS = "ABC"
LAM, OFFSET = 10.0, 0.048


def _model(fold):
    return f"results/mock/models/heldout_{fold}/lambda_{LAM}_offset_{OFFSET}.fits"


@pytest.fixture(scope="module")
def three_folds(config, tmp_path_factory):
    work = tmp_path_factory.mktemp("leak")
    write_mock_config(config, work, mock={"n_stars": 2000}, apogee={"download_shards": 2}, gaia={"query_chunks": 2},
                      model={"n_folds": len(FOLDS), "lambda_grid": [LAM], "offset_grid": [OFFSET],
                             "reference_offset": OFFSET})
    out = run_snakemake(work, "--cores", "2", "catalog")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    return work


def _theta(work, fold):
    return np.asarray(Table.read(work / _model(fold))["theta"])


@pytest.mark.slow
@pytest.mark.parametrize("fold", FOLDS)
def test_noise_in_a_folds_gaia_data_leaves_its_predictions_bit_identical(three_folds, fold, tmp_path):
    base = three_folds
    work = tmp_path / "run"
    copy_run(base, work)

    parent = Table.read(base / PARENT)
    in_fold = np.char.strip(np.asarray(parent["fold"], dtype=str)) == fold
    assert in_fold.sum() > 50 and (in_fold & np.asarray(parent["training"], bool)).sum() > 20
    rng = np.random.default_rng(7)
    noisy = parent.copy()
    # Noise that still looks like Gaia data (so the other models' fits converge): the parallaxes
    # and errors of the fold's Training Set stars shuffled among them, so they no longer belong to
    # their stars. (Rescaling them at random as well once left a fold whose noise the exact solver
    # could not fit to its tolerance: a test of the solver on nonsense, not of the A/B promise.)
    scramble = in_fold & np.asarray(parent["training"], bool)
    noisy["parallax"][scramble] = rng.permutation(noisy["parallax"][scramble])
    noisy["parallax_error"][scramble] = rng.permutation(noisy["parallax_error"][scramble])
    (work / PARENT).unlink()                 # a hard link to the base run: never write through it
    noisy.write(work / PARENT)

    out = run_snakemake(work, "--cores", "2", "catalog")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    assert "rule train" in out.stdout + out.stderr     # the models were refitted, not reused

    assert np.array_equal(_theta(work, fold), _theta(base, fold))
    before, after = Table.read(base / CATALOG), Table.read(work / CATALOG)
    # spec_parallax_err is, in the improved mode, eq. 5 calibrated on the other folds' held-out stars
    # (catalog.calibration), whose models did train on this fold: three global numbers that this
    # fold's astrometry reaches only through those models. Eq. 5's own value must not move.
    assert before.meta["ERRMODEL"] == "calibrated"
    for column in ("spec_parallax", "spec_parallax_err_eq5"):
        a, b = np.asarray(before[column])[in_fold], np.asarray(after[column])[in_fold]
        assert np.array_equal(a, b, equal_nan=True), column
    # The noise did reach the models that train on this fold, so the check above is not vacuous.
    for other in set(FOLDS) - {fold}:
        assert not np.array_equal(_theta(work, other), _theta(base, other)), other
