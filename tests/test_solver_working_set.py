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
    the fit still stops at the cold fit's optimum."""
    X, y, ivar, pen, _ = problem
    calls = []
    qp = exp_linear._lasso_qp

    def recording(H, c, lam, x0, tol, max_rounds=exp_linear._QP_ROUNDS, **kw):
        x, rounds = qp(H, c, lam, x0, tol, max_rounds, **kw)
        calls.append((int(np.count_nonzero(x0)), H.shape[0], rounds))
        return x, rounds

    res, steps = _warm_fit_recording(problem, monkeypatch, exp_linear, "_lasso_qp", recording, 5)
    assert len(calls) == len(steps)
    growing = [h["n_violators"] > size - h["n_support"] for h, (_, size, _) in zip(steps, calls)]
    rounds = [r for _, _, r in calls]
    assert sum(growing) >= 3, growing
    assert all(r <= exp_linear._GROWTH_ROUNDS for r, g in zip(rounds, growing) if g), list(zip(rounds, growing))
    assert max(rounds) == exp_linear._GROWTH_ROUNDS          # the cap was reached, so it did cut short
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
