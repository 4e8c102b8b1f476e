"""Model files: the fitted theta beside the feature index that names each coefficient (FITS).

A model file always holds a converged, uncollapsed fit: :func:`write_model` refuses an unconverged
one and one whose predictions collapsed to ~0 (:mod:`.collapse`), and :func:`read_model` refuses
(and sets aside) a file whose header says CONVERGD = F or a MEDRATIO below the collapse threshold,
e.g. one written before those rules, so cross-validation never scores such a fit. The header's
OPTIMIZR says which optimizer wrote the file (switches.optimizer: exact or paper); WARMFROM and
WARMOFF where the fit started: COLD (from the burn-in fit) or the lambda and offset of the model it
was warm-started from (same held-out fold; model.cv_path: the same offset, the next larger lambda of
the grid; model.cv_path_offsets: the same lambda at the previous offset).
"""

import numpy as np
from astropy.table import Table

from spectroparallax.io import atomic
from spectroparallax.io.bad_files import set_aside
from spectroparallax.io.errors import InputFileError, OneLineError
from spectroparallax.sample.folds import training_rows

from .collapse import COLLAPSE_FRACTION, is_collapsed


class ModelNotConverged(OneLineError, RuntimeError):
    """A fit did not meet its stopping rule within its iteration budget; ``str()`` is one line."""


class ModelCollapsed(OneLineError, RuntimeError):
    """A fit's predictions collapsed to ~0 (:mod:`spectroparallax.model.collapse`); ``str()`` is one line."""


#: |theta_j| below this counts as "effectively zero" (header SMALLFRC, crossval's small_fraction): such a
#: pixel moves ln(parallax) by less than 1e-5 for a 10 percent change of its flux. The paper's optimizer
#: (L-BFGS-B on the sign() subgradient) never sets a coefficient exactly to zero, so its "about 75
#: percent zeroed out" (HER19 sec. 2) can only be compared through such a threshold; the exact solver's
#: zeros are exact (ZEROFRAC).
SMALL_COEFFICIENT = 1e-4


def small_fraction(theta, penalized) -> float:
    """Fraction of the penalized (spectral) coefficients with |theta| < :data:`SMALL_COEFFICIENT`."""
    penalized = np.asarray(penalized, bool)
    return float(np.mean(np.abs(np.asarray(theta)[penalized]) < SMALL_COEFFICIENT)) if penalized.any() else float("nan")


def write_model(path, theta, index: Table, result, **meta) -> None:
    """Write theta with its feature index and the fit's figures in the header.

    ``result`` is a :class:`spectroparallax.model.FitResult`; ``meta`` adds header keywords
    (e.g. HELDOUT, LAM, OFFSET, NTRAIN; at most 8 characters each). Raises ModelNotConverged,
    naming the held-out fold, lambda and offset of ``meta``, and writes nothing if the fit did not
    converge; raises ModelCollapsed likewise if its predictions collapsed (``result.prediction_ratio``
    below :data:`spectroparallax.model.collapse.COLLAPSE_FRACTION`).
    """
    where = (f"held-out fold {meta.get('heldout', '?')}, lambda {meta.get('lam', '?')}, "
             f"offset {meta.get('offset', '?')} mas")
    if is_collapsed(result.prediction_ratio):
        raise ModelCollapsed(
            f"train: the fit for {where} collapsed: the median predicted parallax of its {result.n_stars} "
            f"training stars is {result.prediction_ratio:.2g} of the median observed (below "
            f"{COLLAPSE_FRACTION:g}; {result.optimizer} optimizer, "
            f"{result.burn_in.n_stars if result.burn_in is not None else '?'} burn-in stars); no model written: "
            f"use switches.optimizer: exact, or a smaller lambda (model.paper_lambda, model.lambda_grid)")
    if not result.converged:
        raise ModelNotConverged(
            f"train: the fit for {where} did not converge ({result.message} after {result.n_iter} "
            f"iterations, {result.n_stars} training stars, KKT violation {result.kkt_violation:.3g}); no model "
            f"written: check the Training Set in the cut-flow (results/<survey>/samples/cutflow.csv) and the "
            f"train log, or leave this lambda out of model.lambda_grid")
    table = index.copy()
    table["theta"] = np.asarray(theta, dtype=np.float64)
    table["theta"].description = "coefficient of eq. 4: ln(parallax / mas) per unit of the feature"
    table.meta.update({
        "OBJECTIV": float(result.objective), "NITER": int(result.n_iter), "CONVERGD": bool(result.converged),
        "ZEROFRAC": float(result.zero_fraction), "FITTIME": float(result.time),
        "OPTIMIZR": str(result.optimizer),
    })
    if "penalized" in index.colnames:   # which coefficients are spectral (features.ecsv always says)
        table.meta["SMALLFRC"] = small_fraction(theta, index["penalized"])
    if np.isfinite(result.prediction_ratio):   # FITS headers hold no NaN
        table.meta["MEDRATIO"] = float(result.prediction_ratio)
    table.meta.update({k.upper(): v for k, v in meta.items()})
    atomic.write_table(table, path)


def read_model(path, *, heldout: str | None = None, lam: float | None = None, offset: float | None = None,
               n_train: int | None = None) -> Table:
    """Read a model file; ``table['theta']`` is theta, ``table.meta`` the fit's figures.

    Raises InputFileError (one line naming the file) after renaming it to ``<name>.bad`` if its
    header does not say the fit converged, so the next run trains it again. Given the held-out fold,
    lambda, offset or the number of training stars the caller expects, raises InputFileError
    unless the header says the same: a model that saw the stars it is asked to predict, or was
    trained on another sample, is never used.
    """
    table = Table.read(path)
    if table.meta.get("CONVERGD") is not True:
        where = set_aside(path)
        raise InputFileError(path, f"model file of a fit that did not converge (CONVERGD = "
                             f"{table.meta.get('CONVERGD', 'absent')}); {where}",
                             "rerun: the train rule fits it again (and stops with the reason if it still does not converge)")
    if is_collapsed(table.meta.get("MEDRATIO", float("nan"))):
        where = set_aside(path)
        raise InputFileError(path, f"model file of a fit whose predictions collapsed (MEDRATIO = "
                             f"{table.meta['MEDRATIO']:.2g}, below {COLLAPSE_FRACTION:g}); {where}",
                             "rerun with switches.optimizer: exact or a smaller lambda")
    expected = {"HELDOUT": heldout, "LAM": lam, "OFFSET": offset, "NTRAIN": n_train}
    wrong = [f"{key} {table.meta.get(key, 'absent')} (expected {value})" for key, value in expected.items()
             if value is not None and table.meta.get(key) != value]
    if wrong:
        raise InputFileError(path, "model file does not match its place in the workflow: " + ", ".join(wrong),
                             "delete it and rerun, so the train rule fits it for this fold, setting and Training Set")
    return table


def read_start(path, *, heldout: str, lam: float, offset: float, n_train: int, index: Table,
               expected: dict | None = None) -> tuple:
    """(its lambda, its offset, theta as float64 (D,)) of the model file a fit at (``lam``, ``offset``)
    warm-starts from (model.cv_path, model.cv_path_offsets).

    The file must hold out the same fold, trained on the same ``n_train`` stars (:func:`read_model`),
    over the features of ``index`` (same names, same order: the same pixel and feature set). Its
    setting must be the one the workflow names, ``expected`` ({"lam", "offset"}, rule train's param
    ``start``): at the same offset a larger lambda (the path runs from the largest down), at another
    offset (model.cv_path_offsets: the previous offset's same lambda) no smaller a lambda. Without
    ``expected`` only the same offset is a legal start. Another fold's or another setting's model would
    still lead to the same optimum, but the chain the header reports (WARMFROM, WARMOFF) would be
    false, so it is refused with one line naming the file.
    """
    start_offset = offset if expected is None else expected["offset"]
    table = read_model(path, heldout=heldout, offset=start_offset, n_train=n_train,
                       lam=None if expected is None else expected["lam"])
    start_lam = table.meta.get("LAM")
    below = not isinstance(start_lam, (int, float)) or (start_lam < lam if start_offset != offset else start_lam <= lam)
    if below:
        raise InputFileError(path, f"a fit at lambda {lam:g} warm-starts from a model of a larger lambda (or, from "
                             f"another offset, no smaller one); this one has LAM {start_lam}",
                             "check model.cv_path's chain in workflow/rules/common.smk")
    if len(table) != len(index) or ("name" in index.colnames and list(table["name"]) != list(index["name"])):
        raise InputFileError(path, f"warm-start model has {len(table)} coefficients that do not match the "
                             f"{len(index)} features of the feature index", "delete it and rerun")
    return float(start_lam), float(start_offset), np.asarray(table["theta"], dtype=np.float64)


def read_heldout_models(paths: dict, lam: float, offset: float, training, labels) -> dict:
    """{fold: model table} of the models that hold out each fold at (lam, offset), from ``paths``
    ({fold: model file}); each is checked (:func:`read_model`) to hold out its fold and to have been
    trained on exactly the Training Set stars of the other folds (``training``, ``labels``: the
    Parent Sample's training flags and folds), so no star is predicted by a model that saw it."""
    return {fold: read_model(path, heldout=fold, lam=lam, offset=offset,
                             n_train=len(training_rows(training, labels, fold)))
            for fold, path in paths.items()}
