"""The float64 finish of an exact-L1 fit (spectroparallax.model.polish): from near the optimum it
reaches the KKT conditions in float64, and a coefficient that would change sign leaves the support."""

import numpy as np
import pytest

from spectroparallax.model import fit, objective
from spectroparallax.model.polish import kkt_violation, polish, transposed_product

from test_model import LAM, _simulate


def _problem():
    X, y, ivar, pen, _ = _simulate(n_stars=800, n_features=120, seed=3)
    best = fit(X, y, ivar, pen, LAM, tol=1e-10)
    assert best.converged
    lam_v = np.where(pen, LAM, 0.0)
    scale = np.std(X, axis=0)
    scale[scale == 0] = 1.0
    return X, y, ivar, pen, lam_v, scale, best


def test_polish_reaches_the_optimum_from_a_perturbed_support():
    X, y, ivar, pen, lam_v, scale, best = _problem()
    start = best.theta.copy()
    on = np.flatnonzero(start != 0)
    start[on] *= 1 + 0.02 * np.random.default_rng(1).standard_normal(on.size)   # same signs, 2 % off
    assert objective(start, X, y, ivar, pen, LAM) > best.objective + 1.0
    theta, violation, threshold = polish(X, y, ivar, lam_v, start, tol=1e-7, scale=scale)
    assert violation <= threshold
    assert abs(objective(theta, X, y, ivar, pen, LAM) - best.objective) <= 1e-9 * best.objective
    assert np.array_equal(theta != 0, best.theta != 0)


def test_a_coefficient_that_would_change_sign_leaves_the_support():
    X, y, ivar, pen, lam_v, scale, best = _problem()
    p = np.exp(X @ best.theta)
    g = transposed_product(X, -ivar * (y - p) * p)
    j = np.flatnonzero(pen & (best.theta == 0))[np.argmax(np.abs(g[pen & (best.theta == 0)]))]
    start = best.theta.copy()
    start[j] = 1e-3 * np.sign(g[j])          # the sign the gradient pushes away from: it must go to 0
    theta, violation, threshold = polish(X, y, ivar, lam_v, start, tol=1e-7, scale=scale)
    assert theta[j] == 0.0 and violation <= threshold
    assert abs(objective(theta, X, y, ivar, pen, LAM) - best.objective) <= 1e-9 * best.objective


def test_fit_finishes_a_stalled_solve_in_float64_and_says_so():
    # Too few proximal-Newton iterations for the KKT tolerance: without the float64 finish the fit
    # would not converge (the train job would fail, as at lambda 100 on the 20,000-row mocks).
    X, y, ivar, pen, lam_v, scale, best = _problem()
    start = best.theta.copy()
    on = np.flatnonzero(start != 0)
    start[on] *= 1 + 0.02 * np.random.default_rng(2).standard_normal(on.size)
    stalled = fit(X, y, ivar, pen, LAM, theta0=start, max_iter=1)
    assert stalled.converged and "finished in float64 on the support" in stalled.message
    assert abs(stalled.objective - best.objective) <= 1e-9 * best.objective
    p = np.exp(X @ stalled.theta)                       # the KKT reported is the float64 one of the answer
    gr = -ivar * (y - p) * p
    viol = kkt_violation(stalled.theta, transposed_product(X, gr), lam_v, scale)
    assert stalled.kkt_violation == pytest.approx(viol.max(), rel=1e-6)
    assert stalled.kkt_violation <= 1e-7 * np.sqrt(y.size * np.dot(gr, gr))


def test_a_pixel_missing_from_the_support_enters_and_the_optimum_is_reached():
    X, y, ivar, pen, lam_v, scale, best = _problem()
    on = np.flatnonzero(pen & (best.theta != 0))
    j = on[np.argmax(np.abs(best.theta[on]))]
    start = best.theta.copy()
    start[j] = 0.0                                   # the largest pixel coefficient left out
    assert objective(start, X, y, ivar, pen, LAM) > best.objective + 1.0
    theta, violation, threshold = polish(X, y, ivar, lam_v, start, tol=1e-7, scale=scale)
    assert theta[j] != 0.0 and violation <= threshold
    assert abs(objective(theta, X, y, ivar, pen, LAM) - best.objective) <= 1e-9 * best.objective
