"""The proximal-Newton solver's working set and Hessian cache (issue 19, the grid's speed).

exp_linear adds at most max(working_set_min, |support| / _WS_GROWTH) KKT violators to the working
set per outer iteration (solving the sub-problem in at most _GROWTH_ROUNDS rounds while violators
remain outside it), and keeps the model Hessian Z^T diag(h) Z of the columns it has seen, and
their weighted copy, in storage with room to grow; its ridge is small enough not to set the pace
of the last iterations. Neither may change the optimum: a fit must still stop where a cold fit
stops, with every column's KKT conditions met (float64 gradient), and the cached Hessian must be
the matrix a direct product gives, whatever order its columns arrived in.
"""

import numpy as np
import pytest

from spectroparallax.model import exp_linear, fit, objective
from spectroparallax.model.exp_linear import _Curvature, _Scaled

from test_cv_path import REL_OBJECTIVE, _kkt_float64
from test_model import _simulate


@pytest.fixture(scope="module")
def problem():
    return _simulate(n_stars=1200, n_features=400, seed=5)


def test_hessian_cache_extended_in_pieces_is_the_direct_product(problem):
    """Columns added over several working sets (the storage grown more than once) give the same
    blocks, ridge on the diagonal only, as Z_W^T diag(h) Z_W computed at once in float64."""
    X, _, ivar, pen, _ = problem
    sc = _Scaled(np.asarray(X), pen)
    Z = sc.Z.astype(np.float64)
    rng = np.random.default_rng(3)
    h = ivar * rng.uniform(0.5, 2.0, ivar.size)
    cache = _Curvature(sc.Z)
    order = rng.permutation(X.shape[1])
    first = np.sort(order[:20])
    H, built = cache.matrix(first, h)
    assert built
    seen = first
    for size in (23, 31, 60, 150, 300):       # each extension larger than the 1.25x room
        W = np.sort(np.union1d(seen[::2], order[:size]))
        H, built = cache.matrix(W, h)
        assert not built
        seen = np.union1d(seen, W)
        direct = Z[:, W].T @ (h[:, None] * Z[:, W])
        off = H - np.diag(np.diag(H))
        scale = np.abs(direct).max()
        assert np.abs(off - (direct - np.diag(np.diag(direct)))).max() <= 1e-5 * scale, size
        np.testing.assert_allclose(np.diag(H), np.diag(direct) + cache.ridge, rtol=1e-5, atol=1e-5 * scale)
        # the ridge (1e-5 of the mean diagonal, below the float32 round-off above) exactly on the diagonal
        raw = cache.H[np.ix_(cache.pos[W], cache.pos[W])]
        assert np.array_equal(H, raw + cache.ridge * np.eye(W.size)), size
        # the kept weighted copy of the cached columns, which the next extension multiplies
        kept = cache._zw[:, :cache.cols.size]
        assert np.array_equal(kept, sc.Z[:, cache.cols] * cache.sw[:, None]), size
    # an off-diagonal block: the ridge only where a row and a column are the same pixel
    rows, cols = seen[:40], seen[30:90]
    B = cache.block(rows, cols)
    raw = cache.H[np.ix_(cache.pos[rows], cache.pos[cols])]
    assert np.array_equal(B, raw + cache.ridge * (rows[:, None] == cols[None, :]))
    direct = Z[:, rows].T @ (h[:, None] * Z[:, cols]) + cache.ridge * (rows[:, None] == cols[None, :])
    assert np.abs(B - direct).max() <= 1e-5 * np.abs(direct).max()


def _warm_fit_recording(problem, monkeypatch, owner, name, recording, ws_min):
    """The lambda = 1 fit from lambda = 30's answer (hundreds of violators at once) with ``owner.name``
    replaced by ``recording`` meanwhile; returns the converged fit and its outer iterations' history."""
    X, y, ivar, pen, _ = problem
    start = fit(X, y, ivar, pen, 30.0)
    monkeypatch.setattr(owner, name, recording)
    res = fit(X, y, ivar, pen, 1.0, theta0=start.theta, working_set_min=ws_min)
    monkeypatch.undo()
    assert res.converged, res.message
    return res, [h for h in res.history if "hessian" in h]


def test_working_set_grows_by_a_sixth_of_the_support_and_reaches_the_cold_optimum(problem, monkeypatch):
    """From lambda = 30's answer at lambda = 1 (hundreds of violators at once), each outer iteration
    adds at most max(working_set_min, |support| // _WS_GROWTH) pixels to the support, and the fit
    still stops at the cold fit's optimum with every column's KKT conditions met."""
    X, y, ivar, pen, _ = problem
    sizes = []
    matrix = _Curvature.matrix

    def recording(self, W, h, fresh=False):
        sizes.append(W.size)
        return matrix(self, W, h, fresh=fresh)

    ws_min = 5
    res, steps = _warm_fit_recording(problem, monkeypatch, _Curvature, "matrix", recording, ws_min)
    assert len(sizes) == len(steps)
    added = [size - h["n_support"] for size, h in zip(sizes, steps)]
    bound = [max(ws_min, h["n_support"] // exp_linear._WS_GROWTH) for h in steps]
    assert all(a <= b for a, b in zip(added, bound)), list(zip(added, bound))
    assert max(h["n_violators"] for h in steps) > 2 * max(bound)     # the bound did limit the set
    assert _kkt_float64(res.theta, X, y, ivar, pen, 1.0) < 1e-4
    cold = fit(X, y, ivar, pen, 1.0)
    f_w, f_c = (objective(r.theta, X, y, ivar, pen, 1.0) for r in (res, cold))
    assert abs(f_w - f_c) <= REL_OBJECTIVE * f_c, (f_w, f_c)
    # the same pixels are exactly zero (a tiny coefficient may differ at float32 round-off)
    big = np.abs(cold.theta) > 1e-6 * np.abs(cold.theta[pen]).max()
    assert not np.any((res.theta == 0) & big & pen)


def test_sub_problems_are_cut_short_while_violators_remain_outside(problem, monkeypatch):
    """While KKT violators remain outside the working set (the next iteration adds them), a lasso
    sub-problem gets at most _GROWTH_ROUNDS rounds; once they are all in, up to _QP_ROUNDS; and
    the fit still stops at the cold fit's optimum. Since the Newton steps take every coefficient
    that crosses zero out at once (_newton_step) this problem's sub-problems need at most a few
    rounds, so the cap is lowered to 1 here for it to bind."""
    X, y, ivar, pen, _ = problem
    monkeypatch.setattr(exp_linear, "_GROWTH_ROUNDS", 1)
    calls = []
    qp = exp_linear._lasso_qp

    def recording(H, c, lam, x0, tol, max_rounds=exp_linear._QP_ROUNDS, **kw):
        x, rounds = qp(H, c, lam, x0, tol, max_rounds, **kw)
        unsolved = exp_linear.polish.kkt_violation(x, c + H @ x, lam).max() > tol
        calls.append((max_rounds, H.shape[0], rounds, unsolved))
        return x, rounds

    res, steps = _warm_fit_recording(problem, monkeypatch, exp_linear, "_lasso_qp", recording, 5)
    assert len(calls) == len(steps)
    growing = [h["n_violators"] > size - h["n_support"] for h, (_, size, _, _) in zip(steps, calls)]
    rounds = [r for _, _, r, _ in calls]
    assert 3 <= sum(growing) < len(growing), growing
    assert all(r <= 1 for r, g in zip(rounds, growing) if g), list(zip(rounds, growing))
    # the cap did cut a growing sub-problem short (left unsolved); the others were allowed _QP_ROUNDS
    assert any(g and u for (_, _, _, u), g in zip(calls, growing)), list(zip(calls, growing))
    assert [m for m, *_ in calls] == [1 if g else exp_linear._QP_ROUNDS for g in growing], list(zip(calls, growing))
    cold = fit(X, y, ivar, pen, 1.0)
    f_w, f_c = (objective(r.theta, X, y, ivar, pen, 1.0) for r in (res, cold))
    assert abs(f_w - f_c) <= REL_OBJECTIVE * f_c, (f_w, f_c)
    assert _kkt_float64(res.theta, X, y, ivar, pen, 1.0) < 1e-4


def test_the_ridge_does_not_set_the_pace_of_a_warm_fit(problem):
    """In directions where the model Hessian is below the ridge a step removes only
    lambda_k / (lambda_k + ridge) of the error, so a large ridge makes the last iterations linear
    and slow. With _RIDGE = 1e-7 the warm lambda = 3 fit from lambda = 10's answer on this problem
    takes 7 outer iterations (13 at the former 1e-5), to the cold fit's optimum."""
    X, y, ivar, pen, _ = problem
    start = fit(X, y, ivar, pen, 10.0)
    res = fit(X, y, ivar, pen, 3.0, theta0=start.theta)
    assert res.converged, res.message
    assert res.n_iter <= 9, [(h["kkt"], h.get("hessian")) for h in res.history]
    cold = fit(X, y, ivar, pen, 3.0)
    f_w, f_c = (objective(r.theta, X, y, ivar, pen, 3.0) for r in (res, cold))
    assert abs(f_w - f_c) <= REL_OBJECTIVE * f_c, (f_w, f_c)
    assert _kkt_float64(res.theta, X, y, ivar, pen, 3.0) < 1e-4


def _correlated_qp(n=400, seed=1, smooth=0.97, lam=0.02):
    """A weighted-lasso QP whose neighbouring columns are correlated like adjacent pixels, started
    near (not at) its answer: H = A^T A / m for AR(1) columns with coefficient ``smooth``."""
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(3 * n, n))
    A = np.empty_like(E)
    A[:, 0] = E[:, 0]
    for j in range(1, n):
        A[:, j] = smooth * A[:, j - 1] + np.sqrt(1 - smooth**2) * E[:, j]
    H = A.T @ A / (3 * n)
    x_true = np.where(rng.random(n) < 0.6, rng.normal(size=n), 0.0)
    return H, -H @ x_true, np.full(n, lam), x_true + 0.3 * rng.normal(size=n)


@pytest.mark.parametrize("seed", [1, 2])
def test_newton_steps_take_every_crossing_coefficient_out_at_once(seed):
    """A Newton step on the sign pattern that takes several coefficients across zero sets them all
    to zero at once (_newton_step): this QP then needs 5 rounds, where the exact line search alone,
    which stops at one kink per round, needed 13-15 (measured); same answer, KKT met."""
    H, c, lam, x0 = _correlated_qp(seed=seed)
    x, rounds = exp_linear._lasso_qp(H, c, lam, x0, 1e-8)
    assert exp_linear.polish.kkt_violation(x, c + H @ x, lam).max() <= 1e-8
    assert rounds <= 6, rounds
    # the answer is the QP's optimum: the same as many plain coordinate-descent sweeps reach
    y, q, diag = x0.copy(), c + H @ x0, np.diag(H).copy()
    for _ in range(3000):
        exp_linear._cd_sweep(H, q, y, lam, diag, np.arange(y.size))
    np.testing.assert_allclose(x, y, atol=1e-7)
    assert np.array_equal(x != 0, np.abs(y) > 1e-9)


def test_column_mean_std_in_blocks_is_numpys():
    """_Scaled's column means and standard deviations, computed over blocks of rows, are numpy's
    (float64) for a float32 X taller than one block; a constant column's is exactly zero (the
    intercept test needs that)."""
    rng = np.random.default_rng(4)
    # a large mean and small spread, as magnitudes against pixels: E[x^2] - mean^2 would cancel
    X = rng.normal(1000.0, 0.01, size=(700, 3000)).astype(np.float32)   # 2**20 / 3000 = 349 rows a block
    X[:, 7] = np.float32(0.3)
    mu, sd = exp_linear._column_mean_std(X)
    np.testing.assert_allclose(mu, np.mean(X, axis=0, dtype=np.float64), rtol=1e-13)
    np.testing.assert_allclose(sd, np.std(X, axis=0, dtype=np.float64), rtol=1e-9)
    assert sd[7] == 0.0 and mu[7] == np.float64(np.float32(0.3))


def test_fit_grid_still_refuses_a_non_finite_matrix(problem):
    """fit_grid checks X once and its fits skip the scan: a NaN is still named."""
    X, y, ivar, pen, _ = problem
    X = np.array(X, dtype=np.float32)
    X[17, 5] = np.nan
    with pytest.raises(ValueError, match="row \\(star\\) 17, column \\(feature\\) 5"):
        exp_linear.fit_grid(X, y, ivar, pen, [3.0], [0.0])
