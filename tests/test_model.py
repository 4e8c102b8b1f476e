"""Tests of the L1-regularized exp-linear model (HER19 sec. 3, eqs. 3-5)."""

import math

import numpy as np
import pytest

from spectroparallax.model import fit, objective, predict
from spectroparallax.model.paper_optimizer import fit_baseline

LAM = 30.0
N_BANDS = 8


def _simulate(n_stars=1500, n_features=300, seed=7):
    """Synthetic training set with a known sparse theta_true (magnitudes ~10, ln f ~ -0.05)."""
    rng = np.random.default_rng(seed)
    n_pix = n_features - 1 - N_BANDS
    labels = rng.standard_normal((n_stars, 3))
    n_lines = 25
    centre = rng.uniform(0, n_pix, n_lines)
    width = rng.uniform(1.0, 3.0, n_lines)
    profile = np.exp(-0.5 * ((np.arange(n_pix) - centre[:, None]) / width[:, None]) ** 2)
    depth = np.clip(rng.uniform(0.02, 0.3, n_lines) + 0.05 * labels @ rng.standard_normal((3, n_lines)), 0, 0.9)
    ln_f = np.log(np.clip(1 - depth @ profile + rng.normal(0, 0.01, (n_stars, n_pix)), 0.01, 1.2))
    k_mag = 5 * np.log10(np.exp(rng.normal(np.log(2.5), 0.7, n_stars)) * 100.0) - 4.0 + 0.8 * labels[:, 0]
    mags = (k_mag[:, None] + np.linspace(2.5, -0.1, N_BANDS) + 0.2 * labels[:, [1]] * np.linspace(1, 0, N_BANDS)
            + rng.normal(0, 0.02, (n_stars, N_BANDS)))
    X = np.hstack([np.ones((n_stars, 1)), mags, ln_f])
    penalized = np.zeros(n_features, bool)
    penalized[1 + N_BANDS:] = True
    theta = np.zeros(n_features)
    theta[6] = -0.2 * math.log(10.0)  # K
    relevant = 1 + N_BANDS + rng.choice(n_pix, 10, replace=False)
    theta[relevant] = rng.normal(0, 1.0, relevant.size)
    theta[relevant] *= 0.4 / np.std(X[:, relevant] @ theta[relevant])
    theta[0] = math.log(0.3) - np.median(X @ theta)
    sigma = rng.uniform(0.02, 0.1, n_stars)
    y = np.exp(X @ theta) + sigma * rng.standard_normal(n_stars)
    return X, y, 1 / sigma**2, penalized, theta


@pytest.fixture(scope="module")
def problem():
    return _simulate()


@pytest.fixture(scope="module")
def fitted(problem):
    X, y, ivar, pen, _ = problem
    return fit(X, y, ivar, pen, LAM)


def test_simulation_is_realistic(problem):
    X, y, ivar, pen, theta = problem
    assert np.sum(y < 0) > 0  # negative parallaxes are kept
    assert np.sum(y * np.sqrt(ivar) > 20) > 50  # enough burn-in stars


def test_objective_matches_hand_calculation():
    X = np.array([[1.0, 0.0, 0.5], [1.0, 1.0, 0.0], [1.0, -1.0, 1.0]])
    theta = np.array([0.1, 0.2, -0.3])
    y = np.array([1.0, 1.5, -0.2])
    ivar = np.array([4.0, 1.0, 0.25])
    pen = np.array([False, False, True])
    # eta = [-0.05, 0.3, -0.4]
    chi2 = 4.0 * (1.0 - math.exp(-0.05)) ** 2 + 1.0 * (1.5 - math.exp(0.3)) ** 2 + 0.25 * (-0.2 - math.exp(-0.4)) ** 2
    assert objective(theta, X, y, ivar, pen, 2.0) == pytest.approx(0.5 * chi2 + 2.0 * 0.3, rel=1e-12)
    # the penalty ignores unpenalized columns
    assert objective(theta, X, y, ivar, ~pen, 2.0) == pytest.approx(0.5 * chi2 + 2.0 * (0.1 + 0.2), rel=1e-12)


def test_predict_matches_hand_calculation():
    X = np.array([[1.0, 10.0], [1.0, 12.0]])
    X_err = np.array([[0.0, 0.1], [0.0, 0.3]])
    theta = np.array([3.0, -0.4])
    plx, err = predict(theta, X, X_err)
    assert plx == pytest.approx([math.exp(3.0 - 4.0), math.exp(3.0 - 4.8)], rel=1e-12)
    assert err == pytest.approx([math.exp(-1.0) * 0.4 * 0.1, math.exp(-1.8) * 0.4 * 0.3], rel=1e-12)


def test_fit_recovers_high_snr_parallaxes(problem, fitted):
    X, y, ivar, pen, theta = problem
    assert fitted.converged, fitted.message
    hi = y * np.sqrt(ivar) > 20
    frac = np.exp(X[hi] @ fitted.theta) / np.exp(X[hi] @ theta) - 1
    assert np.sqrt(np.mean(frac**2)) < 0.05  # a few percent
    assert abs(np.median(frac)) < 0.01


def test_fit_gives_exact_zeros(problem, fitted):
    X, y, ivar, pen, theta = problem
    irrelevant = pen & (theta == 0)
    assert np.mean(fitted.theta[irrelevant] == 0.0) > 0.8
    assert fitted.zero_fraction == pytest.approx(np.mean(fitted.theta[pen] == 0.0))
    assert np.all(fitted.theta[~pen] != 0.0)


def test_fit_satisfies_optimality_conditions(problem, fitted):
    """KKT of eq. 3 in the original coordinates: the unpenalized columns feel no penalty."""
    X, y, ivar, pen, _ = problem
    th = fitted.theta
    p = np.exp(X @ th)
    g = X.T @ (-ivar * (y - p) * p)
    scale = np.linalg.norm(X, axis=0) * np.linalg.norm(ivar * (y - p) * p)
    assert np.all(np.abs(g[~pen]) <= 1e-5 * scale[~pen])
    nz = pen & (th != 0)
    # the fit runs its products in float32: optimality holds to ~1e-3 of lambda, we ask for 1e-2
    assert np.all(np.abs(g[nz] + LAM * np.sign(th[nz])) <= 1e-2 * LAM)
    z = pen & (th == 0)
    assert np.all(np.abs(g[z]) <= LAM * (1 + 1e-2))


def test_huge_lambda_leaves_the_photometric_fit_unpenalized(problem):
    X, y, ivar, pen, _ = problem
    res = fit(X, y, ivar, pen, 1e9)
    assert np.all(res.theta[pen] == 0.0)
    phot = fit(X[:, ~pen], y, ivar, np.zeros((~pen).sum(), bool), 0.0)
    # same optimum as the photometry-only fit (the 8 magnitudes are nearly collinear, so the
    # coefficients are pinned less tightly than the objective)
    assert res.objective == pytest.approx(phot.objective, rel=1e-9)
    assert res.theta[~pen] == pytest.approx(phot.theta, rel=3e-3, abs=1e-4)


def test_fit_beats_the_papers_optimizer(problem, fitted):
    X, y, ivar, pen, _ = problem
    base = fit_baseline(X, y, ivar, pen, LAM)
    assert fitted.objective <= base.objective
    assert fitted.objective == pytest.approx(objective(fitted.theta, X, y, ivar, pen, LAM), rel=1e-12)


def test_restart_never_increases_objective(problem, fitted):
    X, y, ivar, pen, _ = problem
    again = fit(X, y, ivar, pen, LAM, theta0=fitted.theta)
    assert again.objective <= fitted.objective
    assert again.burn_in is None


def test_warm_start_along_lambda_grid(problem, fitted):
    X, y, ivar, pen, _ = problem
    stronger = fit(X, y, ivar, pen, 3 * LAM, theta0=fitted.theta)
    assert stronger.converged
    assert stronger.objective <= objective(fitted.theta, X, y, ivar, pen, 3 * LAM)
    assert stronger.zero_fraction >= fitted.zero_fraction


def test_float32_design_matrix_gives_the_same_fit(problem, fitted):
    X, y, ivar, pen, _ = problem
    res = fit(X.astype(np.float32), y, ivar, pen, LAM)
    assert res.objective == pytest.approx(fitted.objective, rel=1e-6)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a.update(y=a["y"][:-1]), "y must have shape"),
        (lambda a: a.update(ivar=a["ivar"][:, None]), "ivar must have shape"),
        (lambda a: a.update(penalized=a["penalized"][:-1]), "penalized"),
        (lambda a: a["X"].__setitem__((3, 5), np.nan), r"X has non-finite values, e.g. row \(star\) 3, column \(feature\) 5"),
        (lambda a: a["ivar"].__setitem__(2, -1.0), "ivar must be finite and >= 0.*row 2"),
        (lambda a: a["y"].__setitem__(4, np.inf), "y .* not finite .* row 4"),
        (lambda a: a.update(lam=-1.0), "lam must be finite and >= 0"),
    ],
)
def test_bad_input_is_named(problem, change, match):
    X, y, ivar, pen, _ = problem
    args = dict(X=X[:20].copy(), y=y[:20].copy(), ivar=ivar[:20].copy(), penalized=pen.copy(), lam=LAM)
    change(args)
    with pytest.raises(ValueError, match=match):
        fit(**args)
    with pytest.raises(ValueError, match=match):
        objective(np.zeros(X.shape[1]), **args)


def test_bad_theta0_and_predict_input():
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match="theta0 must have shape"):
        fit(X, np.ones(5), np.ones(5), np.zeros(3, bool), 1.0, theta0=np.zeros(2))
    with pytest.raises(ValueError, match="X_err must have the shape of X"):
        predict(np.zeros(3), X, np.ones((5, 2)))


def test_fit_survives_an_overflowing_start(problem, fitted):
    """exp() is clipped inside the optimizer: a start where exp(X theta) overflows still converges."""
    X, y, ivar, pen, _ = problem
    start = fitted.theta.copy()
    start[0] += 800.0  # exp(800) overflows float64
    assert objective(start, X, y, ivar, pen, LAM) == np.inf
    res = fit(X, y, ivar, pen, LAM, theta0=start)
    assert res.objective == pytest.approx(fitted.objective, rel=1e-6)


def test_an_unconverged_fit_is_an_error_naming_the_setting_and_writes_no_model(problem, tmp_path):
    """A fit stopped by its iteration budget used to be written as a model file that crossval then
    scored; write_model (what the train rule calls) now refuses it with one line."""
    from astropy.table import Table

    from spectroparallax.model import files
    X, y, ivar, pen, _ = problem
    res = fit(X, y, ivar, pen, LAM, max_iter=1)
    assert not res.converged
    index = Table({"name": [f"f{j}" for j in range(X.shape[1])], "penalized": pen})
    path = tmp_path / "heldout_B" / "lambda_30.0_offset_0.048.fits"
    with pytest.raises(files.ModelNotConverged) as info:
        files.write_model(path, res.theta, index, res, heldout="B", lam=30.0, offset=0.048, ntrain=len(y))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("train: the fit for held-out fold B, lambda 30.0, offset 0.048 mas "
                                              "did not converge (maximum number of iterations reached after 1 iterations")
    assert not path.exists() and not any(tmp_path.rglob("*.fits"))


def test_too_few_training_stars_do_not_blame_burn_in_snr(problem):
    X, y, ivar, pen, _ = problem
    with pytest.raises(ValueError, match="^1 training star\\(s\\): nothing to fit; the Training Set cut-flow") as info:
        fit(X[:1], y[:1], ivar[:1], pen, LAM)
    assert "burn_in_snr" not in str(info.value)
    with pytest.raises(ValueError, match="burn-in: only 0 of 50 training stars .* lower model.burn_in_snr"):
        fit(X[:50], y[:50], ivar[:50], pen, LAM, burn_in_snr=1e9)


def test_the_linear_predictor_on_the_non_zero_columns_is_the_full_product():
    """polish.linear_predictor(X, theta, columns) reads only theta's non-zero columns of a float32 X
    (row blocks as the full product); the result is X theta, and _objective(finite=True) uses it."""
    from spectroparallax.model import polish
    from spectroparallax.model.exp_linear import _objective

    rng = np.random.default_rng(11)
    X = rng.normal(size=(700, 300)).astype(np.float32)
    theta = np.where(rng.random(300) < 0.03, rng.normal(size=300), 0.0)
    cols = np.flatnonzero(theta)
    exact = X.astype(np.float64) @ theta
    np.testing.assert_allclose(polish.linear_predictor(X, theta, cols), exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(polish.linear_predictor(X, theta), exact, rtol=1e-12, atol=1e-12)
    dense = np.where(rng.random(300) < 0.5, rng.normal(size=300), 0.0)   # above 5 %: the full product
    np.testing.assert_allclose(polish.linear_predictor(X, dense, np.flatnonzero(dense)), X.astype(np.float64) @ dense,
                               rtol=1e-12, atol=1e-12)
    y, ivar, lam_v = np.exp(exact) * 1.01, np.full(700, 4.0), np.full(300, 2.0)
    full = 0.5 * np.sum(ivar * (y - np.exp(exact)) ** 2) + np.sum(lam_v * np.abs(theta))
    assert _objective(theta, X, y, ivar, lam_v, finite=True) == pytest.approx(full, rel=1e-12)
    assert _objective(theta, X, y, ivar, lam_v) == pytest.approx(full, rel=1e-12)
