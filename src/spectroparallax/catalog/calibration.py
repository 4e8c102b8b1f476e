"""Calibrated uncertainties of the spectrophotometric parallaxes (issue 20; improved mode).

Eq. 5 of HER19 propagates only the feature errors through the model. It leaves out the scatter of
the stars about the model (what the spectrum and photometry cannot know: mass, age, binarity)
and the noise of coefficients fitted on a finite training set, so it is too small. This module
fits, by maximum likelihood on held-out residuals against Gaia,

    sigma_spec^2 = (s sigma_eq5)^2 + (epsilon spec_parallax)^2,

a scale ``s`` of eq. 5 and an intrinsic fractional scatter ``epsilon``. By default ``s`` is held
at 1 (eq. 5 is the right propagation of the feature errors; what it misses is added by epsilon)
and only epsilon and the outlier fraction are fitted: on the mock the two-parameter fit is nearly
degenerate, because about half of eq. 5's variance comes from the photometry through large,
cancelling G/BP/RP coefficients and is therefore close to a fixed fraction of the parallax, like
epsilon; with ~500 stars per fold it then wandered along the degenerate direction (s = 2.0,
epsilon = 0 on one fold of seed 2027), making the errors too large at low S/N and too small at
high S/N against the truth (robust widths 0.72 / 0.77 / 1.09 by S/N tercile). ``fit_scale=True``
fits s as well. Each star's residual
r = Gaia_parallax - spec_parallax (offset included in Gaia's) is modelled as a mixture:
with probability 1 - f a Gaussian of variance sigma_Gaia^2 + sigma_spec^2 (Gaia's own error is in
the likelihood, so the fit never inverts, logs or cuts on a measured parallax), with probability f
a broad Gaussian of that variance times ``outlier_factor``^2, so that a few bad stars (binaries,
blends) do not set the width.

Cross-fitted: the calibration applied to fold k's stars is fitted on the other folds' training
stars, whose spectrophotometric parallaxes are themselves held out, so no star's astrometry
touches its own uncertainty. Reads nothing and writes nothing: plain functions on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.table import Table
from scipy import optimize

#: Smallest epsilon the fit reports as a number (below it the fit cannot tell epsilon from 0).
_EPS_FLOOR = 1e-5
#: Below this outlier fraction f sits at its bound 0 and the Hessian in f means nothing.
_F_FLOOR = 1e-6


@dataclass
class Calibration:
    """One fitted calibration: the scale ``s`` of eq. 5, the fractional scatter ``epsilon``, the
    outlier fraction ``f`` and their standard errors (from the inverse Hessian of the negative
    log-likelihood), and the number of stars it was fitted on."""

    s: float
    epsilon: float
    f: float
    s_err: float
    epsilon_err: float
    f_err: float
    n_stars: int

    def apply(self, spec, spec_err_eq5) -> np.ndarray:
        """Calibrated uncertainty sqrt((s sigma_eq5)^2 + (epsilon spec)^2) [mas]."""
        spec, err = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
        return np.hypot(self.s * err, self.epsilon * spec)


def _variance(params, gaia_err, spec, err5):
    s, eps = params[0], params[1]
    return gaia_err ** 2 + (s * err5) ** 2 + (eps * spec) ** 2


def negative_log_likelihood(params, residual, gaia_err, spec, err5, outlier_factor: float) -> float:
    """-ln L of (s, epsilon, f) for the residuals Gaia - spec (constants dropped)."""
    s, eps, f = params
    if s <= 0 or eps < 0 or not 0 <= f < 1:
        return np.inf
    var = _variance(params, gaia_err, spec, err5)
    var_out = var * outlier_factor ** 2
    log_core = np.log1p(-f) - 0.5 * (residual ** 2 / var + np.log(var))
    if f > 0:
        log_out = np.log(f) - 0.5 * (residual ** 2 / var_out + np.log(var_out))
        log_like = np.logaddexp(log_core, log_out)
    else:
        log_like = log_core
    return float(-np.sum(log_like))


def _hessian(fun, x, steps):
    """Central-difference Hessian of ``fun`` at ``x`` (a few parameters)."""
    n = x.size
    h = np.empty((n, n))
    f0 = fun(x)
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * steps[i], np.eye(n)[j] * steps[j]
            if i == j:
                h[i, i] = (fun(x + ei) - 2 * f0 + fun(x - ei)) / steps[i] ** 2
            else:
                h[i, j] = h[j, i] = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej)
                                     + fun(x - ei - ej)) / (4 * steps[i] * steps[j])
    return h


def usable(gaia, gaia_err, spec, spec_err_eq5, training) -> np.ndarray:
    """Stars a calibration may be fitted on: training stars with finite Gaia parallax, positive
    Gaia error and a finite prediction with a positive eq.-5 error (no cut on the parallax)."""
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    with np.errstate(invalid="ignore"):
        return (np.asarray(training, bool) & np.isfinite(gaia) & (gaia_err > 0) & np.isfinite(spec)
                & (err5 > 0) & np.isfinite(err5))


def fit(gaia, gaia_err, spec, spec_err_eq5, *, outlier_factor: float = 10.0, fit_scale: bool = False) -> Calibration:
    """Maximum-likelihood (s, epsilon, f) on the stars given (all of them must be usable); with
    ``fit_scale`` False (the default) s is held at 1 and reported with s_err 0.

    ``gaia`` [mas] is the Gaia parallax plus the offset the model was fitted with; ``spec`` and
    ``spec_err_eq5`` [mas] the held-out prediction and its eq.-5 error. Raises ValueError if there
    are fewer than 30 stars (the three numbers would be noise) or the fit fails.
    """
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    if gaia.size < 30:
        raise ValueError(f"calibration needs at least 30 training stars with Gaia and a prediction, got {gaia.size}")
    residual = gaia - spec

    def nll(x):   # x = (ln s, ln epsilon, logit f), or (ln epsilon, logit f) with s = 1: unconstrained
        x = x if fit_scale else np.concatenate([[0.0], x])
        return negative_log_likelihood((np.exp(x[0]), np.exp(x[1]), 1 / (1 + np.exp(-x[2]))),
                                       residual, gaia_err, spec, err5, outlier_factor)

    best = None
    for start in ([0.0, np.log(0.05), -4.0], [np.log(2.0), np.log(0.01), -3.0], [0.0, np.log(0.2), -2.0]):
        res = optimize.minimize(nll, np.array(start if fit_scale else start[1:]), method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
        if best is None or res.fun < best.fun:
            best = res
    if not np.isfinite(best.fun):
        raise ValueError("calibration fit failed: the likelihood is not finite at any start")
    x = best.x if fit_scale else np.concatenate([[0.0], best.x])
    s, eps, f = np.exp(x[0]), np.exp(x[1]), 1 / (1 + np.exp(-x[2]))
    if fit_scale:
        errors = _standard_errors(lambda p: negative_log_likelihood(p, residual, gaia_err, spec, err5, outlier_factor),
                                  np.array([s, eps, f]))
    elif f > _F_FLOOR:
        errors = (0.0, *_standard_errors(
            lambda p: negative_log_likelihood((1.0, *p), residual, gaia_err, spec, err5, outlier_factor),
            np.array([eps, f])))
    else:   # no outliers found (f at its bound 0): epsilon's error with f held there, f's unknown
        errors = (0.0, *_standard_errors(
            lambda p: negative_log_likelihood((1.0, p[0], f), residual, gaia_err, spec, err5, outlier_factor),
            np.array([eps])), np.nan)
    if eps < _EPS_FLOOR:
        eps = 0.0
    return Calibration(float(s), float(eps), float(f), *errors, n_stars=int(gaia.size))


def _standard_errors(nll, p):
    """Standard errors of the parameters ``p`` ((s, epsilon, f) or (epsilon, f)) from the inverse
    Hessian of -ln L in them; NaN where it is not positive definite (e.g. epsilon or f at their bound 0)."""
    steps = np.maximum(1e-4 * np.abs(p), 1e-6)
    lower = p - steps
    steps = np.where(lower > 0, steps, p / 2)   # stay inside the bounds s, epsilon, f > 0
    out = np.full(p.size, np.nan)
    if np.any(steps <= 0):
        return tuple(out)
    try:
        cov = np.linalg.inv(_hessian(nll, p, steps))
    except np.linalg.LinAlgError:
        return tuple(out)
    diag = np.diag(cov)
    ok = np.isfinite(diag) & (diag > 0)
    out[ok] = np.sqrt(diag[ok])
    return tuple(float(v) for v in out)


def cross_fit(fold_labels, gaia, gaia_err, spec, spec_err_eq5, training, *, outlier_factor: float = 10.0,
              fit_scale: bool = False):
    """Calibrated uncertainties of every star, fold by fold.

    For each fold k: :func:`fit` (``fit_scale`` passed on) on the :func:`usable` stars of the other
    folds, applied to fold k's stars. Returns (calibrated error float64 (n,) [mas], NaN where spec or its eq.-5 error is
    not finite; {fold: Calibration}).
    """
    labels = np.asarray(fold_labels, dtype=str)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    ok = usable(gaia, gaia_err, spec, err5, training)
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    out = np.full(labels.size, np.nan)
    calibrations = {}
    for fold in sorted(set(labels.tolist())):
        mine = labels == fold
        train = ok & ~mine
        try:
            cal = fit(gaia[train], gaia_err[train], spec[train], err5[train], outlier_factor=outlier_factor,
                      fit_scale=fit_scale)
        except ValueError as err:
            raise ValueError(f"calibrating fold {fold}'s uncertainties on the other folds: {err}") from None
        calibrations[fold] = cal
        with np.errstate(invalid="ignore"):
            out[mine] = cal.apply(spec[mine], err5[mine])
    return out, calibrations


def calibration_table(calibrations: dict | None, folds) -> Table:
    """One row per fold: the error model and, if calibrated, s, epsilon and f with their errors.

    ``calibrations`` None (switches.uncertainties paper) gives rows that say eq. 5 is used alone.
    """
    rows = []
    for fold in folds:
        cal = (calibrations or {}).get(fold)
        if cal is None:
            rows.append((fold, "eq5", 0, 1.0, np.nan, 0.0, np.nan, np.nan, np.nan))
        else:
            rows.append((fold, "calibrated", cal.n_stars, cal.s, cal.s_err, cal.epsilon, cal.epsilon_err, cal.f,
                         cal.f_err))
    table = Table(rows=rows, names=("fold", "error_model", "n_stars", "s", "s_err", "epsilon", "epsilon_err",
                                    "outlier_fraction", "outlier_fraction_err"),
                  dtype=("U8", "U10", "i8", "f8", "f8", "f8", "f8", "f8", "f8"))
    descriptions = {
        "fold": "the fold whose stars' uncertainties this row sets",
        "error_model": "eq5: HER19 eq. 5 alone (paper mode); calibrated: (s sigma_eq5)^2 + (epsilon spec)^2",
        "n_stars": "the other folds' training stars the calibration was fitted on",
        "s": "scale of the eq. 5 uncertainty (held at 1 unless fitted)",
        "s_err": "standard error of s (inverse Hessian of -ln L); 0 where s is held at 1",
        "epsilon": "intrinsic fractional scatter of the spectrophotometric parallax",
        "epsilon_err": "standard error of epsilon",
        "outlier_fraction": "fraction of stars in the broad outlier component",
        "outlier_fraction_err": "standard error of the outlier fraction",
    }
    for name, text in descriptions.items():
        table[name].description = text
    return table


def eq5_variance_share(theta, X_err, columns) -> np.ndarray:
    """Per star, the fraction of eq. 5's variance sum_j theta_j^2 X_err_j^2 that comes from the
    feature columns ``columns`` (a boolean mask or indices of X's columns, e.g. the photometry).

    theta (D,), X_err (N, D) in the units of X. NaN for a star whose eq.-5 variance is 0. This is
    how much of eq. 5 a block of coefficients (e.g. large, cancelling G/BP/RP ones) is responsible for.
    """
    theta = np.asarray(theta, float)
    X_err = np.asarray(X_err, float)
    if X_err.ndim != 2 or X_err.shape[1] != theta.size:
        raise ValueError(f"X_err must be (stars, {theta.size}) to match theta; got shape {X_err.shape}")
    mask = np.zeros(theta.size, bool)
    mask[columns] = True
    per_feature = np.square(X_err) * theta ** 2
    total = per_feature.sum(axis=1)
    part = per_feature[:, mask].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, part / total, np.nan)
