"""Calibrated uncertainties of the spectrophotometric parallaxes (issue 20; improved mode).

Eq. 5 of HER19 propagates only the feature errors through the model. It leaves out the scatter of
the stars about the model (what the spectrum and photometry cannot know: mass, age, binarity)
and the noise of coefficients fitted on a finite training set, so it is too small. This module
fits, by maximum likelihood on held-out residuals against Gaia,

    sigma_spec^2 = (s sigma_eq5)^2 + (epsilon spec_parallax)^2,

a scale ``s`` of eq. 5 and an intrinsic fractional scatter ``epsilon``, which may vary with a star's
properties (config.yaml ``calibration.epsilon_covariates``, e.g. ASPCAP LOGG and FE_H): ln epsilon a
polynomial in each. The linear model is worst for the rarest giants: on 20,000-row mocks one constant
epsilon gives errors 2.2-2.5 times too small at logg < 0.8 and at [Fe/H] < -0.8 against the truth;
a trend in logg alone fixes the first but leaves the second at 1.8-2.1, and quadratics in both
bring every bin within ~0.2 of 1 (benchmarks/uncertainty_calibration.py prints the widths by logg
and [Fe/H]). By default ``s`` is held
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

    With covariates (``covariates`` names Parent Sample columns, e.g. LOGG and FE_H, each with a
    polynomial ``degrees``), ln epsilon is a polynomial in each:

        epsilon(c) = epsilon exp(sum_k sum_{p=1..degree_k} b_kp (c_k - reference_k)^p),

    where ``coefficients`` are the b_kp (covariate by covariate, power 1 first; :meth:`terms`),
    ``references`` the median c_k of the stars it was fitted on, and every c_k is held inside their
    range [``lowers``, ``uppers``] (no extrapolation of the trend beyond the stars that measured
    it). Without covariates, epsilon is one constant."""

    s: float
    epsilon: float
    f: float
    s_err: float
    epsilon_err: float
    f_err: float
    n_stars: int
    covariates: tuple = ()
    degrees: tuple = ()
    coefficients: tuple = ()
    coefficient_errors: tuple = ()
    references: tuple = ()
    lowers: tuple = ()
    uppers: tuple = ()

    def terms(self) -> list:
        """(covariate, power) of each coefficient, in the order of ``coefficients``."""
        return trend_terms(self.covariates, self.degrees)

    def scatter(self, values=None) -> np.ndarray | float:
        """epsilon at each star's covariate values ``values`` (n, k), in the order of ``covariates``;
        a star without a finite value of a covariate gets that covariate's reference."""
        if not self.covariates:
            return self.epsilon
        if values is None:
            raise ValueError(f"this calibration's scatter depends on {', '.join(self.covariates)}: pass their values")
        design = trend_design(values, self.degrees, self.references, self.lowers, self.uppers)
        return self.epsilon * np.exp(design @ np.asarray(self.coefficients, float))

    def apply(self, spec, spec_err_eq5, values=None) -> np.ndarray:
        """Calibrated uncertainty sqrt((s sigma_eq5)^2 + (epsilon(c) spec)^2) [mas]."""
        spec, err = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
        return np.hypot(self.s * err, self.scatter(values) * spec)


def trend_terms(covariates, degrees) -> list:
    """(covariate, power) of each term of the scatter's trend: powers 1..degree of each covariate."""
    return [(name, p) for name, degree in zip(covariates, degrees) for p in range(1, int(degree) + 1)]


def trend_design(values, degrees, references, lowers, uppers) -> np.ndarray:
    """(n, terms) matrix of (c_k - reference_k)^p, each c_k held within [lower_k, upper_k] and a
    non-finite c_k replaced by its reference (:class:`Calibration`)."""
    c = np.asarray(values, float)
    if c.ndim == 1:
        c = c[:, None]
    if c.shape[1] != len(degrees):
        raise ValueError(f"expected values of {len(degrees)} covariates per star, got {c.shape[1]}")
    ref, lo, hi = (np.asarray(v, float) for v in (references, lowers, uppers))
    d = np.where(np.isfinite(c), np.clip(c, lo, hi), ref) - ref
    return np.column_stack([d[:, k] ** p for k, degree in enumerate(degrees) for p in range(1, int(degree) + 1)])


def negative_log_likelihood(params, residual, gaia_err, spec, err5, outlier_factor: float, design=None) -> float:
    """-ln L of (s, epsilon, f, *b) for the residuals Gaia - spec (constants dropped); ``design``:
    the (n, terms) matrix of :func:`trend_design` (the scatter is epsilon exp(design @ b))."""
    s, eps, f = params[:3]
    b = np.asarray(params[3:], float)
    if s <= 0 or eps < 0 or not 0 <= f < 1:
        return np.inf
    scatter = eps if design is None or not b.size else eps * np.exp(np.clip(design @ b, -50.0, 50.0))
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


def usable(gaia, gaia_err, spec, spec_err_eq5, training, covariates=None) -> np.ndarray:
    """Stars a calibration may be fitted on: training stars with finite Gaia parallax, positive
    Gaia error and a finite prediction with a positive eq.-5 error (and finite values of every
    covariate of the scatter, (n, k) or (n,)); no cut on the parallax."""
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    with np.errstate(invalid="ignore"):
        ok = (np.asarray(training, bool) & np.isfinite(gaia) & (gaia_err > 0) & np.isfinite(spec)
              & (err5 > 0) & np.isfinite(err5))
    if covariates is None:
        return ok
    c = np.asarray(covariates, float)
    return ok & (np.isfinite(c) if c.ndim == 1 else np.isfinite(c).all(axis=1))


#: Which of the fit's parameters must stay > 0 (the trend's coefficients b_* may take either sign).
_POSITIVE = {"s": True, "epsilon": True, "f": True}


def fit(gaia, gaia_err, spec, spec_err_eq5, *, covariates=None, names=(), degrees=(),
        outlier_factor: float = 10.0, fit_scale: bool = False) -> Calibration:
    """Maximum-likelihood (s, epsilon, f) on the stars given (all of them must be usable); with
    ``fit_scale`` False (the default) s is held at 1 and reported with s_err 0. With ``covariates``
    ((n, k) finite values, e.g. ASPCAP LOGG and FE_H; ``names`` and ``degrees`` name them and give
    each one's polynomial degree), ln epsilon is a polynomial in each and its coefficients are
    fitted too (see :class:`Calibration`).

    ``gaia`` [mas] is the Gaia parallax plus the offset the model was fitted with; ``spec`` and
    ``spec_err_eq5`` [mas] the held-out prediction and its eq.-5 error. Raises ValueError if there
    are fewer than 30 stars (the numbers would be noise) or the fit fails.
    """
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    if gaia.size < 30:
        raise ValueError(f"calibration needs at least 30 training stars with Gaia and a prediction, got {gaia.size}")
    trend, design, terms = {}, None, []
    if covariates is not None:
        c = np.asarray(covariates, float)
        c = c[:, None] if c.ndim == 1 else c
        names, degrees = tuple(names), tuple(int(d) for d in degrees)
        if len(names) != c.shape[1] or len(degrees) != c.shape[1] or min(degrees, default=0) < 1:
            raise ValueError(f"calibration covariates: {c.shape[1]} columns need as many names and degrees >= 1, "
                             f"got {names} and {degrees}")
        if c.shape[0] != gaia.size or not np.isfinite(c).all():
            raise ValueError(f"calibration covariates {', '.join(names)} need finite values for every star")
        trend = {"covariates": names, "degrees": degrees, "references": tuple(np.median(c, axis=0).tolist()),
                 "lowers": tuple(c.min(axis=0).tolist()), "uppers": tuple(c.max(axis=0).tolist())}
        design = trend_design(c, degrees, trend["references"], trend["lowers"], trend["uppers"])
        terms = [f"b{i}" for i in range(design.shape[1])]
    residual = gaia - spec
    free = (["s"] if fit_scale else []) + ["epsilon"] + terms + ["f"]
    order = ["s", "epsilon", "f"] + terms

    def natural(values, names_, base):
        p = dict(base)
        p.update(zip(names_, values))
        return tuple(p[k] for k in order)

    def nll_natural(values, names_, base):
        return negative_log_likelihood(natural(values, names_, base), residual, gaia_err, spec, err5,
                                       outlier_factor, design)

    def unpack(x):   # unconstrained: ln s, ln epsilon, b_*, logit f
        return {name: (1 / (1 + np.exp(-v)) if name == "f" else np.exp(v) if name in _POSITIVE else v)
                for name, v in zip(free, x)}

    def objective(x):
        q = unpack(x)
        return nll_natural(list(q.values()), list(q), held)

    held = {"s": 1.0, "epsilon": 0.0, "f": 0.0, **{name: 0.0 for name in terms}}
    best = None
    # BFGS from a few starts (the trend's coefficients start flat), then Nelder-Mead from the best:
    # the likelihood is smooth, and Nelder-Mead alone stalls with the 5-7 parameters of a trend.
    for start in ({"s": 0.0, "epsilon": np.log(0.05), "f": -4.0},
                  {"s": np.log(2.0), "epsilon": np.log(0.01), "f": -3.0},
                  {"s": 0.0, "epsilon": np.log(0.2), "f": -2.0}):
        x0 = np.array([start.get(name, 0.0) for name in free])
        with np.errstate(over="ignore", invalid="ignore"):
            res = optimize.minimize(objective, x0, method="BFGS")
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ValueError("calibration fit failed: the likelihood is not finite at any start")
    with np.errstate(over="ignore", invalid="ignore"):
        polished = optimize.minimize(objective, best.x, method="Nelder-Mead",
                                     options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 8000})
    if polished.fun <= best.fun:
        best = polished
    p = {**held, **unpack(best.x)}
    # Errors from the Hessian in the free parameters; f at its bound 0 (no outliers found) is held
    # there, where the Hessian in f means nothing, and its error is unknown.
    with_err = [name for name in free if not (name == "f" and p["f"] <= _F_FLOOR)]
    errors = dict(zip(with_err, _standard_errors(lambda q: nll_natural(q, with_err, p),
                                                 np.array([p[name] for name in with_err]),
                                                 np.array([_POSITIVE.get(name, False) for name in with_err]))))
    eps = p["epsilon"] if p["epsilon"] >= _EPS_FLOOR else 0.0
    return Calibration(float(p["s"]), float(eps), float(p["f"]), errors.get("s", 0.0), errors["epsilon"],
                       errors.get("f", np.nan), n_stars=int(gaia.size),
                       coefficients=tuple(float(p[name]) for name in terms),
                       coefficient_errors=tuple(float(errors[name]) for name in terms), **trend)


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


def cross_fit(fold_labels, gaia, gaia_err, spec, spec_err_eq5, training, *, covariates=None, names=(),
              degrees=(), outlier_factor: float = 10.0, fit_scale: bool = False):
    """Calibrated uncertainties of every star, fold by fold.

    For each fold k: :func:`fit` (``covariates``, (n, k) values per star or None, ``names``,
    ``degrees`` and ``fit_scale`` passed on) on the :func:`usable` stars of the other folds, applied
    to fold k's stars. Returns (calibrated error float64 (n,) [mas], NaN where spec or its eq.-5
    error is not finite; {fold: Calibration}).
    """
    labels = np.asarray(fold_labels, dtype=str)
    spec, err5 = np.asarray(spec, float), np.asarray(spec_err_eq5, float)
    c = None if covariates is None else np.asarray(covariates, float)
    if c is not None and c.ndim == 1:
        c = c[:, None]
    ok = usable(gaia, gaia_err, spec, err5, training, c)
    gaia, gaia_err = np.asarray(gaia, float), np.asarray(gaia_err, float)
    out = np.full(labels.size, np.nan)
    calibrations = {}
    for fold in sorted(set(labels.tolist())):
        mine = labels == fold
        train = ok & ~mine
        try:
            cal = fit(gaia[train], gaia_err[train], spec[train], err5[train],
                      covariates=None if c is None else c[train], names=names, degrees=degrees,
                      outlier_factor=outlier_factor, fit_scale=fit_scale)
        except ValueError as err:
            raise ValueError(f"calibrating fold {fold}'s uncertainties on the other folds: {err}") from None
        calibrations[fold] = cal
        with np.errstate(invalid="ignore"):
            out[mine] = cal.apply(spec[mine], err5[mine], None if c is None else c[mine])
    return out, calibrations


def calibration_table(calibrations: dict | None, folds) -> Table:
    """One row per fold: the error model and, if calibrated, s, epsilon and f with their errors,
    and the scatter's trend (``trend``, e.g. "LOGG^2 FE_H^2"): per term ``b_<covariate>_<power>``
    and its error, per covariate its reference and range.

    ``calibrations`` None (switches.uncertainties paper) gives rows that say eq. 5 is used alone.
    """
    cals = [(calibrations or {}).get(fold) for fold in folds]
    shapes = {(cal.covariates, cal.degrees) for cal in cals if cal is not None}
    if len(shapes) > 1:
        raise ValueError(f"the folds' calibrations use different scatter trends {sorted(shapes)}")
    covariates, degrees = shapes.pop() if shapes else ((), ())
    terms = trend_terms(covariates, degrees)
    table = Table()
    table["fold"] = np.array(list(folds), dtype="U8")
    table["error_model"] = np.array(["eq5" if cal is None else "calibrated" for cal in cals], dtype="U10")
    table["n_stars"] = np.array([0 if cal is None else cal.n_stars for cal in cals], dtype=np.int64)
    pick = lambda attr, none: np.array([none if cal is None else getattr(cal, attr) for cal in cals], float)  # noqa: E731
    table["s"], table["s_err"] = pick("s", 1.0), pick("s_err", np.nan)
    table["epsilon"], table["epsilon_err"] = pick("epsilon", 0.0), pick("epsilon_err", np.nan)
    table["outlier_fraction"], table["outlier_fraction_err"] = pick("f", np.nan), pick("f_err", np.nan)
    table["trend"] = np.array([" ".join(f"{n}^{d}" for n, d in zip(covariates, degrees)) if cal is not None else ""
                               for cal in cals], dtype="U64")
    descriptions = {
        "fold": "the fold whose stars' uncertainties this row sets",
        "error_model": "eq5: HER19 eq. 5 alone (paper mode); calibrated: (s sigma_eq5)^2 + (epsilon(c) spec)^2",
        "n_stars": "the other folds' training stars the calibration was fitted on",
        "s": "scale of the eq. 5 uncertainty (held at 1 unless fitted)",
        "s_err": "standard error of s (inverse Hessian of -ln L); 0 where s is held at 1",
        "epsilon": "intrinsic fractional scatter of the spectrophotometric parallax (at the covariates' references)",
        "epsilon_err": "standard error of epsilon",
        "outlier_fraction": "fraction of stars in the broad outlier component",
        "outlier_fraction_err": "standard error of the outlier fraction",
        "trend": ("covariates of ln epsilon with their polynomial degrees (calibration.epsilon_covariates; "
                  "empty: a constant epsilon)"),
    }
    for k, (name, power) in enumerate(terms):
        table[f"b_{name}_{power}"] = [np.nan if cal is None else cal.coefficients[k] for cal in cals]
        table[f"b_{name}_{power}_err"] = [np.nan if cal is None else cal.coefficient_errors[k] for cal in cals]
        descriptions[f"b_{name}_{power}"] = (f"coefficient of ({name} - {name}_reference)^{power} in ln epsilon: "
                                             "epsilon(c) = epsilon exp(sum of b (c - reference)^power)")
        descriptions[f"b_{name}_{power}_err"] = f"standard error of b_{name}_{power}"
    for k, name in enumerate(covariates):
        for attr, suffix, text in (("references", "reference", "median {} of the stars the calibration was fitted on"),
                                   ("lowers", "min", "smallest {} of those stars (a star below it gets epsilon at this value)"),
                                   ("uppers", "max", "largest {} of those stars (a star above it gets epsilon at this value)")):
            table[f"{name}_{suffix}"] = [np.nan if cal is None else getattr(cal, attr)[k] for cal in cals]
            descriptions[f"{name}_{suffix}"] = text.format(name)
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


def covariate_columns(parent: Table, names, path) -> np.ndarray:
    """The Parent Sample columns ``names`` as a float (n, k) array (masked -> NaN), the scatter's
    covariates; one clear error naming the file and the missing column if there is no such column."""
    for name in names:
        if name not in parent.colnames:
            raise InputFileError(path, f"has no column {name!r} for calibration.epsilon_covariates",
                                 "remove it from calibration.epsilon_covariates or use a numeric Parent Sample "
                                 "column, e.g. LOGG, FE_H, TEFF")
    return np.column_stack([as_float(parent[name]) for name in names]) if names else np.empty((len(parent), 0))
