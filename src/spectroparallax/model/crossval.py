"""Held-out statistics for choosing lambda and the parallax offset (HER19 sec. 3 and 5).

Every parent star of fold k gets its spectrophotometric parallax from the model trained on the
training stars of the other folds (for two folds: A-trained predicts B and vice versa), so no star's
own astrometry touches its estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from spectroparallax.catalog.stats import high_predicted_snr, high_snr, scatter_and_bias

#: The held-out statistics a setting can be chosen by (switches.cv_score): eq. 2's chi^2 (paper) or
#: the deviance of the predictive likelihood with an intrinsic fractional scatter (improved).
SCORES = {"paper": "chi2", "improved": "deviance"}


def chi2_terms(gaia_parallax, gaia_error, spec_parallax) -> np.ndarray:
    """Each star's term of eq. 2 [dimensionless]: ((gaia - spec) / gaia_error)^2, float64 (n,).

    ``gaia_parallax`` already includes the offset [mas]; ``spec_parallax`` is out-of-fold [mas].
    """
    r = (np.asarray(gaia_parallax, float) - np.asarray(spec_parallax, float)) / np.asarray(gaia_error, float)
    return r * r


def held_out_chi2(gaia_parallax, gaia_error, spec_parallax) -> float:
    """chi^2 of eq. 2 [dimensionless]: the sum of :func:`chi2_terms` over the given stars."""
    return float(np.sum(chi2_terms(gaia_parallax, gaia_error, spec_parallax)))


def fit_intrinsic_scatter(gaia_parallax, gaia_error, spec_parallax) -> float:
    """Maximum-likelihood fractional scatter epsilon [dimensionless] of Gaia about the prediction.

    The model: gaia - spec ~ N(0, gaia_error^2 + (epsilon spec)^2), one epsilon for all the given
    stars (finite values only), in [0, 1]. The held-out residuals of a linear model are wider than
    Gaia's errors by the red giants' own scatter about it (a few percent of the parallax).
    """
    g, e, p = (np.asarray(a, float) for a in (gaia_parallax, gaia_error, spec_parallax))
    ok = np.isfinite(g) & np.isfinite(e) & np.isfinite(p) & (e > 0)
    if not ok.any():
        return float("nan")
    g, e, p = g[ok], e[ok], p[ok]
    return float(optimize.minimize_scalar(lambda eps: float(np.sum(deviance_terms(g, e, p, eps))), bounds=(0.0, 1.0),
                                          method="bounded", options={"xatol": 1e-6}).x)


def deviance_terms(gaia_parallax, gaia_error, spec_parallax, epsilon: float) -> np.ndarray:
    """Each star's held-out deviance [dimensionless]: r^2 / v + ln(v / gaia_error^2), with r = gaia - spec
    and v = gaia_error^2 + (epsilon spec)^2; float64 (n,).

    -2 ln of the Gaussian predictive likelihood up to a constant per star (the same under every
    setting), so the differences between settings are log-likelihood ratios. With epsilon = 0 it
    is :func:`chi2_terms`. Weighting each star by its full predictive variance rather than Gaia's
    error alone keeps the bright stars (Gaia errors far below the model's scatter) from dominating
    the sum and its noise.
    """
    g, e, p = (np.asarray(a, float) for a in (gaia_parallax, gaia_error, spec_parallax))
    v = e * e + (epsilon * p) ** 2
    return (g - p) ** 2 / v + np.log(v / (e * e))


def score_terms(score: str, gaia_parallax, gaia_error, spec_parallax, epsilon: float) -> np.ndarray:
    """Each star's term of the held-out ``score`` (:data:`SCORES`): :func:`chi2_terms` for chi2,
    :func:`deviance_terms` with ``epsilon`` (the setting's, :func:`summarize`) for deviance."""
    _check_score(score)
    if score == "chi2":
        return chi2_terms(gaia_parallax, gaia_error, spec_parallax)
    return deviance_terms(gaia_parallax, gaia_error, spec_parallax, epsilon)


def _check_score(score: str) -> None:
    if score not in SCORES.values():
        raise ValueError(f"unknown cross-validation score {score!r}: expected one of {sorted(SCORES.values())}")


def summarize(gaia_parallax, gaia_error, spec_parallax, training, snr_min: float, *, offset: float = 0.0,
              subset: str = "improved") -> dict:
    """Cross-validation figures for one (lambda, offset) setting.

    ``gaia_parallax`` includes ``offset`` [mas]. Returns chi2 (held-out, over the training-quality
    stars), n_chi2, epsilon (:func:`fit_intrinsic_scatter` over the same stars) and deviance (the sum
    of :func:`deviance_terms` with it), and the robust fractional scatter and median bias of (spec - Gaia)/Gaia over the
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
    epsilon = fit_intrinsic_scatter(gaia_parallax[use], gaia_error[use], spec_parallax[use])
    return {
        "chi2": held_out_chi2(gaia_parallax[use], gaia_error[use], spec_parallax[use]),
        "n_chi2": int(use.sum()),
        "epsilon": epsilon,
        "deviance": float(np.sum(deviance_terms(gaia_parallax[use], gaia_error[use], spec_parallax[use], epsilon))),
        "scatter_high_snr": scatter,
        "bias_high_snr": bias,
        "n_high_snr": int(high.sum()),
        "bias_high_pred_snr": scatter_and_bias(gaia_parallax[pred], spec_parallax[pred])[1],
        "n_high_pred_snr": int(pred.sum()),
    }


def record_choice(table, choice: Choice) -> None:
    """Add the columns delta_<score>, delta_<score>_se (score: the statistic ``choice`` was made by,
    chi2 or deviance) and chosen (bool) of ``choice`` to ``table`` in place."""
    table[f"delta_{choice.score}"] = choice.delta
    table[f"delta_{choice.score}_se"] = choice.delta_se
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
    "n_chi2": (None, "number of stars in chi2 and deviance"),
    "epsilon": (None, "maximum-likelihood fractional scatter of Gaia about the prediction beyond Gaia's errors, "
                "over the same stars"),
    "deviance": (None, "held-out deviance: sum of (gaia - spec)^2 / v + ln(v / sigma_gaia^2), v = sigma_gaia^2 + "
                 "(epsilon spec)^2, over the same stars (-2 ln likelihood up to a constant)"),
    "scatter_high_snr": (None, "robust scatter of (spec - Gaia)/Gaia, training stars with Gaia parallax/error >= snr_min "
                         "(switches.high_snr_subset: paper = before the offset is added, improved = after)"),
    "bias_high_snr": (None, "median of (spec - Gaia)/Gaia over the same stars (biased low by selecting on Gaia)"),
    "n_high_snr": (None, "number of stars with Gaia parallax/error >= snr_min"),
    "bias_high_pred_snr": (None, "median of (spec - Gaia)/Gaia, training stars with spec parallax/Gaia error >= snr_min"),
    "n_high_pred_snr": (None, "number of stars with spec parallax/Gaia error >= snr_min"),
    "delta_chi2": (None, "chi2 minus the lowest chi2 of the grid"),
    "delta_chi2_se": (None, "standard error of delta_chi2 from the paired per-star differences"),
    "delta_deviance": (None, "deviance minus the lowest deviance of the grid"),
    "delta_deviance_se": (None, "standard error of delta_deviance from the paired per-star differences"),
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


def choose(table, score: str = "chi2") -> int:
    """Row index of the setting with the lowest held-out ``score`` (a column: chi2 or deviance)."""
    values = np.asarray(table[score], dtype=float)
    if not np.isfinite(values).any():
        raise ValueError(f"no cross-validation setting has a finite held-out {score}")
    return int(np.nanargmin(values))


def paired_difference(terms, best: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out score of every setting minus that of setting ``best``, and its standard error.

    terms: (n_settings, n_stars) per-star terms of the score (:func:`chi2_terms` or
    :func:`deviance_terms`) of the same held-out stars under every setting (NaN where a setting has
    no prediction). The difference is summed
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

    row: the chosen setting's row; lowest: the row with the lowest held-out score; score: the
    statistic (chi2 or deviance); delta, delta_se: every setting's score minus the lowest, and its
    paired standard error (:func:`paired_difference`); tied: bool, the settings within ``tolerance``
    standard errors of the lowest; reason: one sentence saying why ``row`` was chosen.
    """

    row: int
    lowest: int
    score: str
    delta: np.ndarray
    delta_se: np.ndarray
    tied: np.ndarray
    reason: str


def choose_setting(table, terms, reference_offset: float | None, *, tolerance: float | None = 1.0,
                   fixed: bool = False, score: str = "chi2") -> Choice:
    """Choose the (lambda, offset) setting by a held-out score, keeping ``reference_offset`` when
    cross-validation cannot tell it from the best.

    ``score`` (switches.cv_score, :data:`SCORES`): chi2, eq. 2 over the held-out stars, or deviance,
    -2 ln of the predictive likelihood with each setting's intrinsic scatter (:func:`deviance_terms`);
    ``terms`` are its per-star terms. The setting with the lowest score wins unless a setting whose offset is
    ``reference_offset`` [mas] lies within ``tolerance`` paired standard errors of it
    (:func:`paired_difference`): then the data do not reject the reference offset, and the best
    such setting is chosen instead (tolerance 2: the reference must be worse at about 95 %
    confidence to be dropped; None only without a reference offset).
    The offset enters the fit only through the curvature of exp(theta . x) against an additive
    shift of the parallaxes, so with a few thousand training stars the held-out scores of offsets
    0.02 mas apart can differ by less than their own noise. ``reference_offset`` None: always the
    lowest score. ``table`` has columns lambda, offset [mas] and ``score``, one row per row of ``terms``.

    ``fixed`` (switches.hyperparameters: paper): the table's one setting is HER19's, fixed by the
    paper mode, and is kept whatever its score; the reason says so. ValueError if there are more.
    """
    _check_score(score)
    if fixed:
        if len(table) != 1:
            raise ValueError(f"hyperparameters fixed by the paper mode: expected one setting, got {len(table)}")
        zero = np.zeros(1)
        return Choice(0, 0, score, zero, zero, np.ones(1, bool),
                      f"fixed by the paper mode (switches.hyperparameters: paper): lambda {float(table['lambda'][0]):g}, "
                      f"offset {float(table['offset'][0]):g} mas as in HER19's code (infer_parallax.py @ 7e102f0, "
                      "model.paper_lambda and model.paper_offset), not chosen by cross-validation")
    lowest = choose(table, score)
    delta, se = paired_difference(terms, lowest)
    if reference_offset is not None and not (tolerance is not None and tolerance >= 0):
        raise ValueError(f"the reference offset's tolerance must be >= 0 standard errors, got {tolerance}")
    tied = np.isfinite(np.asarray(table[score], float)) & (delta <= (1.0 if tolerance is None else tolerance) * se)
    offsets = np.asarray(table["offset"], float)
    lams = np.asarray(table["lambda"], float)
    row, reason = lowest, f"lowest held-out {score}"
    if reference_offset is not None and not np.isclose(offsets[lowest], reference_offset):
        candidates = np.flatnonzero(tied & np.isclose(offsets, reference_offset))
        if candidates.size:
            row = int(candidates[np.argmin(delta[candidates])])
            reason = (f"held-out {score} of lambda {lams[row]:g}, offset {offsets[row]:g} mas exceeds the lowest "
                      f"(lambda {lams[lowest]:g}, offset {offsets[lowest]:g} mas) by {delta[row]:.1f}, "
                      f"{delta[row] / se[row] if se[row] > 0 else 0:.2f} times its standard error {se[row]:.1f}, "
                      f"within {tolerance:g} (model.reference_offset_tolerance): cross-validation does not reject "
                      f"the reference offset {reference_offset:g} mas (model.reference_offset), so it is kept")
        else:
            reason = (f"lowest held-out {score}; every setting with the reference offset {reference_offset:g} mas "
                      f"is worse by more than {tolerance:g} standard errors (model.reference_offset_tolerance)")
    return Choice(row, lowest, score, delta, se, tied, reason)


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
