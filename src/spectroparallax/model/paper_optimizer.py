"""The paper's optimizer for eq. 3 (switches.optimizer: paper), and the benchmark baseline for
:func:`spectroparallax.model.fit`.

HER19's code (infer_parallax.py @ 7e102f0, ``H_func`` and the ``opt_step`` loop) hands
``lam * sign(theta)`` to scipy's L-BFGS-B as if it were the gradient of the L1 term (jac=True,
options maxfun 50000, scipy's other defaults), starting from theta = 0.001 / D on every column, first
on the burn-in stars (Gaia's parallax_over_error > 20) and then, from that answer, on all training
stars; it asserts ``res.success`` after each of the two fits. The L1 term is not differentiable, so
this neither converges cleanly nor produces exact zeros; with a few dozen burn-in stars at lambda 30
the predictions can collapse to ~0 (see :mod:`spectroparallax.model.training`).
"""

import time

import numpy as np
from scipy.optimize import minimize

from spectroparallax.model.exp_linear import FitResult, _check_burn_in, _check_inputs, _zero_fraction, objective


def _objective_and_subgradient(theta, X, y, ivar, lam_v):
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(X @ theta)
        r = y - p
        f = 0.5 * np.sum(ivar * r * r) + np.sum(lam_v * np.abs(theta))
        g = X.T @ (-ivar * r * p) + lam_v * np.sign(theta)
    return f, g


def fit_baseline(X, y, ivar, penalized, lam, burn_in_snr=20.0, maxfun=50000, *, burn_in=None) -> FitResult:
    """HER19's fit: L-BFGS-B (jac=True, scipy defaults, maxfun) with sign() for the L1 gradient.

    Arguments as in :func:`spectroparallax.model.fit` (``burn_in``: the burn-in mask, else
    y * sqrt(ivar) > burn_in_snr); X is used in float64 as in the paper's code. ``n_iter`` counts
    objective evaluations of both stages; ``converged`` is True only if both stages report success
    (the paper's code asserts each).
    """
    t0 = time.perf_counter()
    X, y, ivar, penalized, lam_v = _check_inputs(X, y, ivar, penalized, lam)
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    hi = y * np.sqrt(ivar) > burn_in_snr if burn_in is None else _check_burn_in(burn_in, X.shape[0])
    if hi.sum() < 1:
        raise ValueError(f"burn-in: none of the {X.shape[0]} training stars is in the burn-in subset "
                         f"(parallax / error > {burn_in_snr}); lower model.burn_in_snr")
    opts = {"maxfun": maxfun}
    start = np.full(d, 0.001 / d)
    burn = minimize(_objective_and_subgradient, start, args=(X[hi], y[hi], ivar[hi], lam_v),
                    method="L-BFGS-B", jac=True, options=opts)
    t1 = time.perf_counter()
    res = minimize(_objective_and_subgradient, burn.x, args=(X, y, ivar, lam_v),
                   method="L-BFGS-B", jac=True, options=opts)
    theta = res.x
    burn_result = FitResult(
        theta=burn.x, objective=float(burn.fun), n_iter=int(burn.nfev), converged=bool(burn.success),
        message=str(burn.message), zero_fraction=_zero_fraction(burn.x, penalized), time=t1 - t0,
        n_stars=int(hi.sum()), optimizer="paper",
    )
    return FitResult(
        theta=theta, objective=objective(theta, X, y, ivar, penalized, lam), n_iter=int(burn.nfev + res.nfev),
        converged=bool(burn.success and res.success),
        message=str(res.message) if burn.success else f"burn-in: {burn.message}; all stars: {res.message}",
        zero_fraction=_zero_fraction(theta, penalized),
        time=time.perf_counter() - t0, n_stars=X.shape[0], burn_in=burn_result, optimizer="paper",
    )
