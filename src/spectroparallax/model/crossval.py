"""Held-out statistics for choosing lambda and the parallax offset (HER19 sec. 3 and 5).

Every parent star of fold k gets its spectrophotometric parallax from the model trained on the
training stars of the other folds (for two folds: A-trained predicts B and vice versa), so no star's
own astrometry touches its estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectroparallax.catalog.stats import high_predicted_snr, high_snr, scatter_and_bias



def chi2_terms(gaia_parallax, gaia_error, spec_parallax) -> np.ndarray:
    """Each star's term of eq. 2 [dimensionless]: ((gaia - spec) / gaia_error)^2, float64 (n,).

    ``gaia_parallax`` already includes the offset [mas]; ``spec_parallax`` is out-of-fold [mas].
    """
    r = (np.asarray(gaia_parallax, float) - np.asarray(spec_parallax, float)) / np.asarray(gaia_error, float)
    return r * r


def held_out_chi2(gaia_parallax, gaia_error, spec_parallax) -> float:
    """chi^2 of eq. 2 [dimensionless]: the sum of :func:`chi2_terms` over the given stars."""
    return float(np.sum(chi2_terms(gaia_parallax, gaia_error, spec_parallax)))


def summarize(gaia_parallax, gaia_error, spec_parallax, training, snr_min: float, *, offset: float = 0.0,
              subset: str = "improved") -> dict:
    """Cross-validation figures for one (lambda, offset) setting.

    ``gaia_parallax`` includes ``offset`` [mas]. Returns chi2 (held-out, over the training-quality
    stars), n_chi2, and the robust fractional scatter and median bias of (spec - Gaia)/Gaia over the
    training stars of the high-S/N subset (:func:`spectroparallax.catalog.stats.high_snr` with ``subset``,
    S/N >= ``snr_min``; n_high_snr) and over those with spectrophotometric parallax / Gaia error
    >= ``snr_min`` (``bias_high_pred_snr``, n_high_pred_snr; see
    :func:`spectroparallax.catalog.stats.high_predicted_snr`).
    """
    gaia_parallax, gaia_error = np.asarray(gaia_parallax, float), np.asarray(gaia_error, float)
    spec_parallax, training = np.asarray(spec_parallax, float), np.asarray(training, bool)
    use = training & np.isfinite(spec_parallax)
    high = use & high_snr(gaia_parallax, gaia_error, offset, snr_min, subset)
    pred = high_predicted_snr(spec_parallax, gaia_error, use, snr_min)
    scatter, bias = scatter_and_bias(gaia_parallax[high], spec_parallax[high])
    return {
        "chi2": held_out_chi2(gaia_parallax[use], gaia_error[use], spec_parallax[use]),
        "n_chi2": int(use.sum()),
        "scatter_high_snr": scatter,
        "bias_high_snr": bias,
        "n_high_snr": int(high.sum()),
        "bias_high_pred_snr": scatter_and_bias(gaia_parallax[pred], spec_parallax[pred])[1],
        "n_high_pred_snr": int(pred.sum()),
    }


def record_choice(table, choice: Choice) -> None:
    """Add the columns delta_chi2, delta_chi2_se and chosen (bool) of ``choice`` to ``table`` in place."""
    table["delta_chi2"] = choice.delta_chi2
    table["delta_chi2_se"] = choice.delta_chi2_se
    table["chosen"] = np.arange(len(table)) == choice.row
    describe(table)


def fit_figures(metas) -> dict:
    """Summary of one setting's fits from their model-file headers (one per held-out fold):
    mean fraction of spectral coefficients exactly zero and below files.SMALL_COEFFICIENT in size
    (NaN for models written before SMALLFRC existed), whether all converged, most iterations."""
    return {
        "zero_fraction": float(np.mean([m["ZEROFRAC"] for m in metas])),
        "small_fraction": float(np.mean([m.get("SMALLFRC", np.nan) for m in metas])),
        "converged": bool(all(m["CONVERGD"] for m in metas)),
        "n_iter_max": int(max(m["NITER"] for m in metas)),
    }


#: Units and descriptions of the cross-validation table's columns.
COLUMNS = {
    "lambda": (None, "L1 strength on the spectral coefficients (eq. 3)"),
    "offset": ("mas", "offset added to every Gaia DR2 parallax"),
    "chi2": (None, "held-out chi^2 of eq. 2 over the training-quality stars, out-of-fold predictions"),
    "n_chi2": (None, "number of stars in chi2"),
    "scatter_high_snr": (None, "robust scatter of (spec - Gaia)/Gaia, training stars with Gaia parallax/error >= snr_min "
                         "(switches.high_snr_subset: paper = before the offset is added, improved = after)"),
    "bias_high_snr": (None, "median of (spec - Gaia)/Gaia over the same stars (biased low by selecting on Gaia)"),
    "n_high_snr": (None, "number of stars with Gaia parallax/error >= snr_min"),
    "bias_high_pred_snr": (None, "median of (spec - Gaia)/Gaia, training stars with spec parallax/Gaia error >= snr_min"),
    "n_high_pred_snr": (None, "number of stars with spec parallax/Gaia error >= snr_min"),
    "delta_chi2": (None, "chi2 minus the lowest chi2 of the grid"),
    "delta_chi2_se": (None, "standard error of delta_chi2 from the paired per-star differences"),
    "chosen": (None, "the setting the catalog uses (results/<survey>/crossval/best.yaml)"),
    "zero_fraction": (None, "fraction of spectral coefficients exactly zero (mean over the folds' models)"),
    "small_fraction": (None, "fraction of spectral coefficients with |theta| < 1e-4 (the paper's optimizer "
                       "makes no exact zeros; mean over the folds' models)"),
    "converged": (None, "all folds' fits met the KKT tolerance"),
    "n_iter_max": (None, "most proximal-Newton iterations over the folds' fits"),
}


def describe(table) -> None:
    """Set the units and descriptions of a cross-validation table's columns in place."""
    for name, (unit, text) in COLUMNS.items():
        if name in table.colnames:
            table[name].unit = unit
            table[name].description = text


def choose(table) -> int:
    """Row index of the setting with the lowest held-out chi^2."""
    chi2 = np.asarray(table["chi2"], dtype=float)
    if not np.isfinite(chi2).any():
        raise ValueError("no cross-validation setting has a finite held-out chi2")
    return int(np.nanargmin(chi2))


def paired_difference(terms, best: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out chi^2 of every setting minus that of setting ``best``, and its standard error.

    terms: (n_settings, n_stars) per-star chi^2 terms (:func:`chi2_terms`) of the same held-out
    stars under every setting (NaN where a setting has no prediction). The difference is summed
    over the stars every compared pair has; its standard error is sqrt(n) times the standard
    deviation of the per-star differences (the settings are judged on the same stars, so the
    star-to-star spread that both share cancels). Returns (delta, se), float64 (n_settings,);
    both are 0 for ``best`` itself.
    """
    terms = np.asarray(terms, dtype=float)
    d = terms - terms[best]
    both = np.isfinite(d)
    n = both.sum(axis=1)
    delta = np.where(both, d, 0.0).sum(axis=1)
    mean = delta / np.maximum(n, 1)
    var = np.where(both, (d - mean[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(n - 1, 1)
    return delta, np.sqrt(n * var)


@dataclass(frozen=True)
class Choice:
    """Outcome of :func:`choose_setting`.

    row: the chosen setting's row; lowest: the row with the lowest held-out chi^2; delta_chi2,
    delta_chi2_se: every setting's chi^2 minus the lowest, and its paired standard error
    (:func:`paired_difference`); tied: bool, the settings within ``tolerance`` standard errors of the lowest;
    reason: one sentence saying why ``row`` was chosen.
    """

    row: int
    lowest: int
    delta_chi2: np.ndarray
    delta_chi2_se: np.ndarray
    tied: np.ndarray
    reason: str


def choose_setting(table, terms, reference_offset: float | None, *, tolerance: float | None = 1.0,
                   fixed: bool = False) -> Choice:
    """Choose the (lambda, offset) setting by held-out chi^2, keeping ``reference_offset`` when
    cross-validation cannot tell it from the best.

    The setting with the lowest held-out chi^2 (eq. 2) wins unless a setting whose offset is
    ``reference_offset`` [mas] lies within ``tolerance`` paired standard errors of it
    (:func:`paired_difference`): then the data do not reject the reference offset, and the best
    such setting is chosen instead (tolerance 2: the reference must be worse at about 95 %
    confidence to be dropped; None only without a reference offset).
    The offset enters the fit only through the curvature of exp(theta . x) against an additive
    shift of the parallaxes, so with a few thousand training stars the held-out chi^2 of offsets
    0.02 mas apart can differ by less than its own noise. ``reference_offset`` None: always the
    lowest chi^2. ``table`` has columns lambda, offset [mas] and chi2, one row per row of ``terms``.

    ``fixed`` (switches.hyperparameters: paper): the table's one setting is HER19's, fixed by the
    paper mode, and is kept whatever its chi^2; the reason says so. ValueError if there are more.
    """
    if fixed:
        if len(table) != 1:
            raise ValueError(f"hyperparameters fixed by the paper mode: expected one setting, got {len(table)}")
        zero = np.zeros(1)
        return Choice(0, 0, zero, zero, np.ones(1, bool),
                      f"fixed by the paper mode (switches.hyperparameters: paper): lambda {float(table['lambda'][0]):g}, "
                      f"offset {float(table['offset'][0]):g} mas as in HER19's code (infer_parallax.py @ 7e102f0, "
                      "model.paper_lambda and model.paper_offset), not chosen by cross-validation")
    lowest = choose(table)
    delta, se = paired_difference(terms, lowest)
    if reference_offset is not None and not (tolerance is not None and tolerance >= 0):
        raise ValueError(f"the reference offset's tolerance must be >= 0 standard errors, got {tolerance}")
    tied = np.isfinite(np.asarray(table["chi2"], float)) & (delta <= (1.0 if tolerance is None else tolerance) * se)
    offsets = np.asarray(table["offset"], float)
    lams = np.asarray(table["lambda"], float)
    row, reason = lowest, "lowest held-out chi2"
    if reference_offset is not None and not np.isclose(offsets[lowest], reference_offset):
        candidates = np.flatnonzero(tied & np.isclose(offsets, reference_offset))
        if candidates.size:
            row = int(candidates[np.argmin(delta[candidates])])
            reason = (f"held-out chi2 of lambda {lams[row]:g}, offset {offsets[row]:g} mas exceeds the lowest "
                      f"(lambda {lams[lowest]:g}, offset {offsets[lowest]:g} mas) by {delta[row]:.1f}, "
                      f"{delta[row] / se[row] if se[row] > 0 else 0:.2f} times its standard error {se[row]:.1f}, "
                      f"within {tolerance:g} (model.reference_offset_tolerance): cross-validation does not reject "
                      f"the reference offset {reference_offset:g} mas (model.reference_offset), so it is kept")
        else:
            reason = (f"lowest held-out chi2; every setting with the reference offset {reference_offset:g} mas "
                      f"is worse by more than {tolerance:g} standard errors (model.reference_offset_tolerance)")
    return Choice(row, lowest, delta, se, tied, reason)


def grid_edge_warning(table, row: int) -> str | None:
    """A warning if the chosen lambda is the smallest or largest of a grid of three or more
    values: the held-out optimum may lie outside the grid, so the grid should be extended."""
    lams = np.unique(np.asarray(table["lambda"], dtype=float))
    lam = float(table["lambda"][row])
    if lams.size >= 3 and lam in (lams[0], lams[-1]):
        side = "smallest" if lam == lams[0] else "largest"
        return (f"the chosen lambda {lam:g} is the {side} value of model.lambda_grid {lams.tolist()}: "
                "the held-out optimum may lie beyond it; extend the grid on that side")
    return None


def out_of_fold(fold_labels, models: dict, X, X_err, predict):
    """Spectrophotometric parallax and error of every star from the model not trained on its fold.

    ``models[k]`` is theta of the model that held out fold k; ``predict(theta, X, X_err)`` is
    :func:`spectroparallax.model.predict`. Returns float64 arrays (n,) [mas].
    """
    fold_labels = np.asarray(fold_labels, dtype=str)
    spec = np.full(len(fold_labels), np.nan)
    spec_err = np.full(len(fold_labels), np.nan)
    for fold, theta in models.items():
        rows = np.flatnonzero(fold_labels == fold)
        if rows.size:
            spec[rows], spec_err[rows] = predict(theta, X[rows], X_err[rows])
    return spec, spec_err
