"""Calibrated uncertainties of the spectrophotometric parallaxes (issue 20; improved mode).

Eq. 5 of HER19 propagates only the feature errors through the model. It leaves out the scatter of
the stars about the model (what the spectrum and photometry cannot know: mass, age, binarity)
and the noise of coefficients fitted on a finite training set, so it is too small. This module
fits, by maximum likelihood on held-out residuals against Gaia,

    sigma_spec^2 = (s sigma_eq5)^2 + (epsilon spec_parallax)^2,

a scale ``s`` of eq. 5 and an intrinsic fractional scatter ``epsilon``, which may vary with a star's
property (config.yaml ``calibration.epsilon_covariate``, e.g. ASPCAP LOGG): ln epsilon linear in it.
The linear model is worst for the rarest, most luminous giants: on 20,000-row mocks one constant
epsilon gives errors 2.3-2.7 times too small at logg < 0.8 against the truth, and the trend in logg
flattens that to 1.04-1.25 (benchmarks/uncertainty_calibration.py prints the widths by logg). By default ``s`` is held
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

from spectroparallax.archives.columns import as_float
from spectroparallax.io.errors import InputFileError

#: Smallest epsilon the fit reports as a number (below it the fit cannot tell epsilon from 0).
_EPS_FLOOR = 1e-5
#: Below this outlier fraction f sits at its bound 0 and the Hessian in f means nothing.
_F_FLOOR = 1e-6


@dataclass
class Calibration:
    """One fitted calibration: the scale ``s`` of eq. 5, the fractional scatter ``epsilon``, the
    outlier fraction ``f`` and their standard errors (from the inverse Hessian of the negative
    log-likelihood), and the number of stars it was fitted on.

    With a covariate (``covariate`` names it, e.g. LOGG), the scatter varies with it log-linearly:
    epsilon(c) = epsilon exp(slope (c - reference)), where ``reference`` is the median c of the
    stars it was fitted on and c is held inside their range [``lower``, ``upper``] (no extrapolation
    of the trend beyond the stars that measured it). Without one, slope is 0."""

    s: float
    epsilon: float
    f: float
    s_err: float
    epsilon_err: float
    f_err: float
    n_stars: int
    covariate: str | None = None
    slope: float = 0.0
    slope_err: float = 0.0
    reference: float = float("nan")
    lower: float = float("nan")
    upper: float = float("nan")

    def scatter(self, covariate=None) -> np.ndarray | float:
        """epsilon at each star's covariate value (a star with none gets epsilon at the reference)."""
        if self.covariate is None:
            return self.epsilon
        c = np.asarray(covariate, float)
        c = np.where(np.isfinite(c), np.clip(c, self.lower, self.upper), self.reference)
        return self.epsilon * np.exp(self.slope * (c - self.reference))

    def apply(self, spec, spec_err_eq5, covariate=None) -> np.ndarray:
        """Calibrated uncertainty sqrt((s sigma_eq5)^2 + (epsilon(c) spec)^2) [mas]."""
        spec, err = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
        if self.covariate is not None and covariate is None:
            raise ValueError(f"this calibration's scatter depends on {self.covariate}: pass its values")
        return np.hypot(self.s * err, self.scatter(covariate) * spec)


def negative_log_likelihood(params, residual, gaia_err, spec, err5, outlier_factor: float, dc=None) -> float:
    """-ln L of (s, epsilon, f[, slope]) for the residuals Gaia - spec (constants dropped); ``dc``:
    each star's covariate minus the reference (the scatter is epsilon exp(slope dc))."""
    s, eps, f = params[:3]
    slope = params[3] if len(params) > 3 else 0.0
    if s <= 0 or eps < 0 or not 0 <= f < 1:
        return np.inf
    scatter = eps if dc is None else eps * np.exp(slope * dc)
    var = gaia_err ** 2 + (s * err5) ** 2 + (scatter * spec) ** 2
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


def usable(gaia, gaia_err, spec, spec_err_eq5, training, covariate=None) -> np.ndarray:
    """Stars a calibration may be fitted on: training stars with finite Gaia parallax, positive
    Gaia error and a finite prediction with a positive eq.-5 error (and a finite covariate, if
    the scatter has one); no cut on the parallax."""
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    with np.errstate(invalid="ignore"):
        ok = (np.asarray(training, bool) & np.isfinite(gaia) & (gaia_err > 0) & np.isfinite(spec)
              & (err5 > 0) & np.isfinite(err5))
    return ok if covariate is None else ok & np.isfinite(np.asarray(covariate, float))


#: Parameters of the fit in the order of negative_log_likelihood's ``params``, and which are > 0.
_PARAMS = ("s", "epsilon", "f", "slope")
_POSITIVE = {"s": True, "epsilon": True, "f": True, "slope": False}


def fit(gaia, gaia_err, spec, spec_err_eq5, *, covariate=None, covariate_name: str = "covariate",
        outlier_factor: float = 10.0, fit_scale: bool = False) -> Calibration:
    """Maximum-likelihood (s, epsilon, f) on the stars given (all of them must be usable); with
    ``fit_scale`` False (the default) s is held at 1 and reported with s_err 0. With ``covariate``
    (one finite value per star, e.g. ASPCAP LOGG; ``covariate_name`` names it), ln epsilon is linear
    in it and its slope is fitted too (see :class:`Calibration`).

    ``gaia`` [mas] is the Gaia parallax plus the offset the model was fitted with; ``spec`` and
    ``spec_err_eq5`` [mas] the held-out prediction and its eq.-5 error. Raises ValueError if there
    are fewer than 30 stars (the numbers would be noise) or the fit fails.
    """
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    if gaia.size < 30:
        raise ValueError(f"calibration needs at least 30 training stars with Gaia and a prediction, got {gaia.size}")
    trend = {}
    dc = None
    if covariate is not None:
        c = np.asarray(covariate, float)
        if c.shape != gaia.shape or not np.isfinite(c).all():
            raise ValueError(f"calibration covariate {covariate_name} needs one finite value per star")
        reference = float(np.median(c))
        trend = {"covariate": covariate_name, "reference": reference, "lower": float(c.min()), "upper": float(c.max())}
        dc = c - reference
    residual = gaia - spec
    free = (["s"] if fit_scale else []) + ["epsilon"] + (["slope"] if dc is not None else []) + ["f"]

    def natural(values, names, base):
        p = dict(base)
        p.update(zip(names, values))
        return tuple(p[k] for k in _PARAMS)

    def nll_natural(values, names, base):
        return negative_log_likelihood(natural(values, names, base), residual, gaia_err, spec, err5, outlier_factor, dc)

    def unpack(x):   # unconstrained: ln s, ln epsilon, slope, logit f
        out = {}
        for name, v in zip(free, x):
            out[name] = v if name == "slope" else 1 / (1 + np.exp(-v)) if name == "f" else np.exp(v)
        return out

    def objective(x):
        q = unpack(x)
        return nll_natural(list(q.values()), list(q), held)

    held = {"s": 1.0, "epsilon": 0.0, "f": 0.0, "slope": 0.0}
    best = None
    for start in ({"s": 0.0, "epsilon": np.log(0.05), "slope": 0.0, "f": -4.0},
                  {"s": np.log(2.0), "epsilon": np.log(0.01), "slope": -0.5, "f": -3.0},
                  {"s": 0.0, "epsilon": np.log(0.2), "slope": 0.5, "f": -2.0}):
        res = optimize.minimize(objective, np.array([start[name] for name in free]), method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 8000})
        if best is None or res.fun < best.fun:
            best = res
    if not np.isfinite(best.fun):
        raise ValueError("calibration fit failed: the likelihood is not finite at any start")
    p = {**held, **unpack(best.x)}
    # Errors from the Hessian in the free parameters; f at its bound 0 (no outliers found) is held
    # there, where the Hessian in f means nothing, and its error is unknown.
    with_err = [name for name in free if not (name == "f" and p["f"] <= _F_FLOOR)]
    errors = dict(zip(with_err, _standard_errors(lambda q: nll_natural(q, with_err, p),
                                                 np.array([p[name] for name in with_err]),
                                                 np.array([_POSITIVE[name] for name in with_err]))))
    eps = p["epsilon"] if p["epsilon"] >= _EPS_FLOOR else 0.0
    return Calibration(float(p["s"]), float(eps), float(p["f"]), errors.get("s", 0.0), errors["epsilon"],
                       errors.get("f", np.nan), n_stars=int(gaia.size), slope=float(p["slope"]),
                       slope_err=errors.get("slope", 0.0), **trend)


def _standard_errors(nll, p, positive):
    """Standard errors of the parameters ``p`` from the inverse Hessian of -ln L in them; NaN where
    it is not positive definite (e.g. epsilon or f at their bound 0). ``positive``: which of them
    must stay > 0 (the finite-difference steps stay inside that bound)."""
    steps = np.maximum(1e-4 * np.abs(p), 1e-6)
    steps = np.where(~positive | (p - steps > 0), steps, p / 2)
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


def cross_fit(fold_labels, gaia, gaia_err, spec, spec_err_eq5, training, *, covariate=None,
              covariate_name: str = "covariate", outlier_factor: float = 10.0, fit_scale: bool = False):
    """Calibrated uncertainties of every star, fold by fold.

    For each fold k: :func:`fit` (``covariate``, one value per star or None, and ``fit_scale``
    passed on) on the :func:`usable` stars of the other folds, applied to fold k's stars. Returns
    (calibrated error float64 (n,) [mas], NaN where spec or its eq.-5 error is not finite;
    {fold: Calibration}).
    """
    labels = np.asarray(fold_labels, dtype=str)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    c = None if covariate is None else np.asarray(covariate, float)
    ok = usable(gaia, gaia_err, spec, err5, training, c)
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    out = np.full(labels.size, np.nan)
    calibrations = {}
    for fold in sorted(set(labels.tolist())):
        mine = labels == fold
        train = ok & ~mine
        try:
            cal = fit(gaia[train], gaia_err[train], spec[train], err5[train],
                      covariate=None if c is None else c[train], covariate_name=covariate_name,
                      outlier_factor=outlier_factor, fit_scale=fit_scale)
        except ValueError as err:
            raise ValueError(f"calibrating fold {fold}'s uncertainties on the other folds: {err}") from None
        calibrations[fold] = cal
        with np.errstate(invalid="ignore"):
            out[mine] = cal.apply(spec[mine], err5[mine], None if c is None else c[mine])
    return out, calibrations


def calibration_table(calibrations: dict | None, folds) -> Table:
    """One row per fold: the error model and, if calibrated, s, epsilon and f with their errors,
    and the scatter's trend with its covariate (if any).

    ``calibrations`` None (switches.uncertainties paper) gives rows that say eq. 5 is used alone.
    """
    rows = []
    for fold in folds:
        cal = (calibrations or {}).get(fold)
        if cal is None:
            rows.append((fold, "eq5", 0, 1.0, np.nan, 0.0, np.nan, np.nan, np.nan, "", 0.0, np.nan, np.nan,
                         np.nan, np.nan))
        else:
            rows.append((fold, "calibrated", cal.n_stars, cal.s, cal.s_err, cal.epsilon, cal.epsilon_err, cal.f,
                         cal.f_err, cal.covariate or "", cal.slope, cal.slope_err if cal.covariate else np.nan,
                         cal.reference, cal.lower, cal.upper))
    table = Table(rows=rows, names=("fold", "error_model", "n_stars", "s", "s_err", "epsilon", "epsilon_err",
                                    "outlier_fraction", "outlier_fraction_err", "covariate", "slope", "slope_err",
                                    "covariate_reference", "covariate_min", "covariate_max"),
                  dtype=("U8", "U10", "i8", "f8", "f8", "f8", "f8", "f8", "f8", "U16", "f8", "f8", "f8", "f8", "f8"))
    descriptions = {
        "fold": "the fold whose stars' uncertainties this row sets",
        "error_model": "eq5: HER19 eq. 5 alone (paper mode); calibrated: (s sigma_eq5)^2 + (epsilon(c) spec)^2",
        "n_stars": "the other folds' training stars the calibration was fitted on",
        "s": "scale of the eq. 5 uncertainty (held at 1 unless fitted)",
        "s_err": "standard error of s (inverse Hessian of -ln L); 0 where s is held at 1",
        "epsilon": "intrinsic fractional scatter of the spectrophotometric parallax (at covariate_reference)",
        "epsilon_err": "standard error of epsilon",
        "outlier_fraction": "fraction of stars in the broad outlier component",
        "outlier_fraction_err": "standard error of the outlier fraction",
        "covariate": "Parent Sample column the scatter varies with (empty: a constant epsilon)",
        "slope": "d ln epsilon / d covariate: epsilon(c) = epsilon exp(slope (c - covariate_reference))",
        "slope_err": "standard error of slope",
        "covariate_reference": "median covariate of the stars the calibration was fitted on",
        "covariate_min": "smallest covariate of those stars (a star below it gets epsilon at this value)",
        "covariate_max": "largest covariate of those stars (a star above it gets epsilon at this value)",
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


def covariate_column(parent: Table, name: str, path) -> np.ndarray:
    """The Parent Sample column ``name`` as float (masked -> NaN), the scatter's covariate; one clear
    error naming the file and the columns it has if there is no such column."""
    if name not in parent.colnames:
        raise InputFileError(path, f"has no column {name!r} for calibration.epsilon_covariate",
                             "set calibration.epsilon_covariate to null or to one of its numeric columns, e.g. LOGG, TEFF")
    return as_float(parent[name])
