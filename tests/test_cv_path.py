"""model.cv_path: the cross-validation grid as a warm-started path (issue 19).

The objective (eq. 3) is convex, so a fit started from the next larger lambda's answer must stop
at the optimum a cold fit (burn-in, then all stars) stops at; the train rule must chain the
models of one (held-out fold, offset) and nothing else, and its model file must say where it
started.
"""

import re

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.io.errors import InputFileError
from spectroparallax.model import files, fit, objective
from spectroparallax.model.exp_linear import fit_path
from spectroparallax.model.training import train_fold

from conftest import run_snakemake, write_mock_config
from test_model import _simulate

GRID = [100.0, 30.0, 10.0, 3.0]
#: The solver stops at a relative KKT violation of 1e-7 (fit's tol) with float32 products: two
#: answers of the same convex problem agree in objective to ~1e-9 relative; 1e-6 leaves room.
REL_OBJECTIVE = 1e-6


@pytest.fixture(scope="module")
def problem():
    return _simulate(n_stars=1200, n_features=250, seed=11)


@pytest.fixture(scope="module")
def path_and_cold(problem):
    X, y, ivar, pen, _ = problem
    return fit_path(X, y, ivar, pen, GRID), {lam: fit(X, y, ivar, pen, lam) for lam in GRID}


def test_warm_path_reaches_the_cold_optimum_at_every_lambda(problem, path_and_cold):
    X, y, ivar, pen, _ = problem
    warm, cold = path_and_cold
    assert list(warm) == sorted(GRID, reverse=True)
    assert warm[GRID[0]].burn_in is not None                      # the largest starts cold
    assert all(warm[lam].burn_in is None for lam in GRID[1:])     # the rest from the previous answer
    for lam in GRID:
        w, c = warm[lam], cold[lam]
        assert w.converged and c.converged, lam
        f_w, f_c = objective(w.theta, X, y, ivar, pen, lam), objective(c.theta, X, y, ivar, pen, lam)
        assert abs(f_w - f_c) <= REL_OBJECTIVE * f_c, (lam, f_w, f_c)
        # the same coefficients: theta is ln(parallax) per feature unit; predictions agree to 1e-4
        pred_w, pred_c = X @ w.theta, X @ c.theta
        assert np.max(np.abs(pred_w - pred_c)) < 1e-4, lam
        big = np.abs(c.theta) > 1e-2 * np.abs(c.theta[pen]).max()
        assert np.array_equal(np.sign(w.theta[big]), np.sign(c.theta[big])), lam
    # the path is not a no-op: the four lambdas give different, ever less sparse answers
    zeros = [warm[lam].zero_fraction for lam in GRID]
    assert zeros == sorted(zeros, reverse=True) and zeros[0] > zeros[-1]


def _training_files(problem, tmp_path):
    """Parent Sample, feature index and X of a two-fold toy Training Set."""
    X, y, ivar, pen, _ = problem
    n = len(y)
    parent = Table({"training": np.ones(n, bool), "fold": np.where(np.arange(n) % 2 == 0, "A", "B"),
                    "parallax": y, "parallax_error": 1 / np.sqrt(ivar)})
    index = Table({"name": [f"f{j}" for j in range(X.shape[1])], "penalized": pen})
    return X, index, parent


def test_train_fold_starts_from_the_next_larger_lambda_and_says_so(problem, tmp_path):
    X, index, parent = _training_files(problem, tmp_path)
    kw = dict(burn_in_snr=20.0, high_snr_subset="improved", optimizer="exact")
    p30 = tmp_path / "heldout_A" / "lambda_30.0_offset_0.048.fits"
    train_fold(p30, X, index, parent, "A", 30.0, 0.048, **kw)
    assert files.read_model(p30).meta["WARMFROM"] == "COLD"
    p10 = tmp_path / "heldout_A" / "lambda_10.0_offset_0.048.fits"
    warm = train_fold(p10, X, index, parent, "A", 10.0, 0.048, start=p30, **kw)
    assert warm.burn_in is None and files.read_model(p10).meta["WARMFROM"] == 30.0
    cold = train_fold(tmp_path / "cold.fits", X, index, parent, "A", 10.0, 0.048, **kw)
    assert abs(warm.objective - cold.objective) <= REL_OBJECTIVE * cold.objective

    # a start from another fold, another offset or a smaller lambda is refused with one line
    pB = tmp_path / "heldout_B" / "lambda_30.0_offset_0.048.fits"
    train_fold(pB, X, index, parent, "B", 30.0, 0.048, **kw)
    p029 = tmp_path / "heldout_A" / "lambda_30.0_offset_0.029.fits"
    train_fold(p029, X, index, parent, "A", 30.0, 0.029, **kw)
    for start, match in [(pB, "HELDOUT B"), (p029, "OFFSET 0.029"), (p10, "larger lambda")]:
        with pytest.raises(InputFileError, match=match) as info:
            train_fold(tmp_path / "x.fits", X, index, parent, "A", 10.0 if start != p10 else 30.0, 0.048,
                       start=start, **kw)
        assert "\n" not in str(info.value) and str(start) in str(info.value)
    # the paper's optimizer takes no warm start (it stops where its start leads it)
    with pytest.raises(ValueError, match="no warm start"):
        train_fold(tmp_path / "x.fits", X, index, parent, "A", 10.0, 0.048, start=p30,
                   **{**kw, "optimizer": "paper"})


def _planned_train_inputs(work):
    """{model output: [its model inputs]} of the train jobs a dry run plans."""
    out = run_snakemake(work, "-n", timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    plan = {}
    for block in re.split(r"\n(?=rule |localrule |checkpoint )", out.stdout + out.stderr):
        if block.startswith("rule train:"):
            inputs = re.search(r"input: (.*)", block).group(1).split(", ")
            output = re.search(r"output: (.*)", block).group(1)
            plan[output] = [i for i in inputs if "/models/" in i]
    return plan


@pytest.mark.parametrize("cv_path", [True, False])
def test_the_dag_chains_each_fold_and_offset_from_the_largest_lambda(config, tmp_path, cv_path):
    write_mock_config(config, tmp_path, mode="improved",
                      model={"lambda_grid": [3.0, 30.0, 10.0], "offset_grid": [0.029, 0.048], "cv_path": cv_path,
                             # the lambda chains alone; the offsets' link: tests/test_cv_offset_chain.py
                             "cv_path_offsets": False})
    plan = _planned_train_inputs(tmp_path)
    assert len(plan) == 3 * 2 * 2
    name = re.compile(r"heldout_(\w+)/lambda_([\d.]+)_offset_([\d.]+)\.fits$")
    for output, starts in plan.items():
        fold, lam, off = name.search(output).groups()
        expected = {"3.0": "10.0", "10.0": "30.0"}.get(lam) if cv_path else None
        if expected is None:
            assert starts == [], output
        else:
            assert len(starts) == 1, output
            assert name.search(starts[0]).groups() == (fold, expected, off), (output, starts)


# ----------------------------------------------------------------------------------------------
# The machinery that makes the grid fast must not change what it solves.


def test_support_solver_updates_give_the_exact_solve():
    """_SupportSolver solves H_SS d = v on a support that gains and loses pixels by updating the last
    Cholesky factor; every answer must equal a direct solve on that support."""
    from spectroparallax.model.exp_linear import _SupportSolver

    rng = np.random.default_rng(3)
    A = rng.standard_normal((400, 80))
    A[:, 1::2] += A[:, ::2]                       # correlated columns, like neighbouring pixels
    H = A.T @ A + 1e-3 * np.eye(80)
    solver = _SupportSolver(lambda i, j, out=None: H[np.ix_(i, j)])
    S = np.sort(rng.choice(80, 50, replace=False))
    n_updates = 0
    for step in range(8):
        if step:
            out = np.setdiff1d(np.arange(80), S)
            S = np.union1d(np.setdiff1d(S, rng.choice(S, step % 3 + 1, replace=False)),
                           rng.choice(out, step % 2 + 1, replace=False))
        K_before = solver.K
        v = rng.standard_normal(S.size)
        d = solver.solve(S, v)
        np.testing.assert_allclose(H[np.ix_(S, S)] @ d, v, atol=1e-8)
        n_updates += K_before is not None and solver.K is K_before and not np.array_equal(K_before, S)
    assert n_updates >= 5                         # the update path, not a refactorization, was tested


def test_support_solver_kept_columns_give_the_exact_solve_and_are_dropped_on_refactorization():
    """The solves an entering or leaving column needs are kept per column until the next
    factorization: a repeated support change must reuse them (no new solve with H_KK's columns)
    and still give the exact answer, and after a refactorization on another support the same
    column ids must not pick up answers kept for the old factor."""
    from spectroparallax.model.exp_linear import _SupportSolver

    rng = np.random.default_rng(8)
    A = rng.standard_normal((300, 60))
    A[:, 1::2] += A[:, ::2]
    H = A.T @ A + 1e-3 * np.eye(60)
    calls = []

    def block(i, j, out=None):
        calls.append((i.size, j.size))
        return H[np.ix_(i, j)]

    solver = _SupportSolver(block)
    K0 = np.arange(0, 50)
    solver.solve(K0, rng.standard_normal(K0.size))                    # factorizes on K0
    S1 = np.union1d(np.setdiff1d(K0, [3, 17]), [52, 55])                # 2 leave, 2 enter
    for repeat in range(3):
        calls.clear()
        v = rng.standard_normal(S1.size)
        d = solver.solve(S1, v)
        np.testing.assert_allclose(H[np.ix_(S1, S1)] @ d, v, atol=1e-8)
        assert np.array_equal(solver.K, K0)                             # an update, not a refactorization
        if repeat:
            assert (K0.size, 2) not in calls, calls                      # the kept H_KA and its solve
    K1 = np.arange(10, 60)
    solver.solve(K1, rng.standard_normal(K1.size))                      # too large a change: refactorizes
    assert np.array_equal(solver.K, K1)
    S2 = np.union1d(np.setdiff1d(K1, [17, 20]), [3, 5])                 # 17 and 3 again, on another factor
    v = rng.standard_normal(S2.size)
    d = solver.solve(S2, v)
    assert np.array_equal(solver.K, K1)
    np.testing.assert_allclose(H[np.ix_(S2, S2)] @ d, v, atol=1e-8)


def test_curvature_cache_extends_to_the_exact_weighted_gram():
    """_Curvature extends its Hessian by new columns; each block must be Z^T diag(h_ref) Z (+ ridge)."""
    from spectroparallax.model.exp_linear import _Curvature

    rng = np.random.default_rng(5)
    Z = rng.standard_normal((300, 40)).astype(np.float32)
    h = rng.uniform(0.5, 2.0, 300)
    cache = _Curvature(Z)
    W1, W2 = np.array([0, 3, 7, 9]), np.array([1, 3, 9, 20, 33])
    _, built = cache.matrix(W1, h)
    H2, built2 = cache.matrix(W2, h * (1 + 1e-3))   # h moved a little: extended, not rebuilt
    assert built and not built2 and cache.builds == 1
    Zd = Z.astype(np.float64)
    exact = (Zd[:, W2] * h[:, None]).T @ Zd[:, W2] + cache.ridge * np.eye(W2.size)
    np.testing.assert_allclose(H2, exact, rtol=1e-5, atol=1e-3)
    _, built3 = cache.matrix(W2, 2 * h)             # h doubled: rebuilt from the current h
    assert built3 and cache.builds == 2
    # a cache holding most columns extends through a product with all of Z: the same matrix
    W3 = np.arange(0, 40, 2)
    cache.matrix(W3, h, fresh=True)
    for W in (np.arange(0, 40, 3), np.array([1, 3, 5, 7, 11, 30])):   # the second after cols are unsorted
        H4, built4 = cache.matrix(W, h)
        assert not built4 and cache.cols.size > 20
        exact = (Zd[:, W] * h[:, None]).T @ Zd[:, W] + cache.ridge * np.eye(W.size)
        np.testing.assert_allclose(H4, exact, rtol=1e-5, atol=1e-3)


def test_kept_storage_never_changes_a_block_in_use():
    """_Curvature and its _SupportSolver write their large matrices into storage they keep (the QP's
    block, the factor, the cache and its weighted columns) instead of new arrays. A block matrix()
    returned must survive the solver's factorizations, a rebuild on fewer columns must not read the
    larger one's leftovers, and every solve must stay exact."""
    from spectroparallax.model.exp_linear import _Curvature

    rng = np.random.default_rng(11)
    Z = rng.standard_normal((500, 90)).astype(np.float32)
    Zd = Z.astype(np.float64)
    cache = _Curvature(Z)

    def direct(W, h):
        return (Zd[:, W] * h[:, None]).T @ Zd[:, W] + cache.ridge * np.eye(W.size)

    h = rng.uniform(0.5, 2.0, 500)
    for W in (np.arange(0, 90), np.arange(0, 90, 3), np.arange(5, 60, 2)):
        h = rng.uniform(0.5, 2.0, 500)
        H, built = cache.matrix(W, h, fresh=True)
        assert built
        before = H.copy()
        np.testing.assert_allclose(H, direct(W, h), rtol=1e-5, atol=1e-3)
        for S in (W[::2], W[1::2], W[: W.size // 2]):    # each a refactorization into kept storage
            v = rng.standard_normal(S.size)
            d = cache.solver.solve(S, v)
            np.testing.assert_allclose(direct(S, h) @ d, v, rtol=1e-6, atol=1e-6 * np.abs(v).max())
        assert np.array_equal(H, before)          # the QP's block was not overwritten
    W = np.union1d(np.arange(1, 90, 4), np.arange(5, 60, 2))   # extend the smaller rebuild
    H, built = cache.matrix(W, h)
    assert not built
    np.testing.assert_allclose(H, direct(W, h), rtol=1e-5, atol=1e-3)


def test_products_through_a_few_columns_are_the_full_product():
    """The solver's steps and predictors read only their non-zero columns of the column-major Z while
    those are at most a third (_product_on); BLAS takes more, and a row-major Z (the burn-in's
    subset of rows). Every path must equal Z[:, cols] @ v to float32 round-off."""
    from spectroparallax.model.exp_linear import _product_on

    rng = np.random.default_rng(4)
    Z = np.asfortranarray(rng.standard_normal((700, 300)).astype(np.float32))
    for Zk in (Z, np.ascontiguousarray(Z)):
        for m in (0, 1, 40, 99, 100, 101, 250):          # through the columns up to 100, then BLAS
            cols = np.sort(rng.choice(300, m, replace=False))
            v = rng.standard_normal(m)
            exact = Zk[:, cols].astype(np.float64) @ v.astype(np.float32).astype(np.float64)
            got = _product_on(Zk, cols, v)
            assert got.dtype == np.float64 and got.shape == (700,)
            np.testing.assert_allclose(got, exact, rtol=0, atol=1e-5 * (np.abs(v).sum() + 1))


def test_a_stale_hessian_that_stalls_convergence_is_rebuilt(problem):
    """Near the optimum a stale model Hessian converges only linearly (lambda = 3 of the paper-size
    grid once took 195 outer iterations). Here every Hessian fit is given is 3x too large until
    it asks for a fresh one, so each step goes a third of the way: after _STALL_STEPS such steps
    fit must ask, and then stop at the ordinary optimum."""
    from spectroparallax.model import exp_linear
    from spectroparallax.model.exp_linear import _Curvature, _Scaled

    class ThreeTimes(_Curvature):
        scale = 3.0

        def matrix(self, W, h, fresh=False):
            if fresh:
                self.scale = 1.0
            H, _ = super().matrix(W, h, fresh=fresh)
            return H, fresh

        def block(self, rows, cols, out=None):
            return self.scale * super().block(rows, cols, out=out)

    X, y, ivar, pen, _ = problem
    start = fit(X, y, ivar, pen, 10.0)
    sc = _Scaled(np.asarray(X), pen)
    res = fit(X, y, ivar, pen, 3.0, theta0=start.theta, _shared=(sc, ThreeTimes(sc.Z)))
    kinds = [h.get("hessian") for h in res.history]
    assert "built" in kinds, kinds
    first = kinds.index("built")
    assert first >= exp_linear._STALL_STEPS and set(kinds[:first]) == {"stale"}, kinds
    assert res.converged
    reference = fit(X, y, ivar, pen, 3.0, theta0=start.theta)
    assert abs(res.objective - reference.objective) <= REL_OBJECTIVE * reference.objective


def _kkt_float64(theta, X, y, ivar, pen, lam):
    """Largest violation of eq. 3's optimality conditions, from a float64 gradient, relative to the
    size of a unit-variance column's gradient (as fit's stopping rule)."""
    Xd = np.asarray(X, np.float64)
    p = np.exp(Xd @ theta)
    gr = -ivar * (y - p) * p
    scale = Xd.std(axis=0)
    scale[scale == 0] = 1.0                                        # the intercept
    g = (gr @ Xd) * scale                                          # per unit of the scaled column
    lam_s = np.where(pen, lam * scale, 0.0)
    viol = np.where(theta > 0, np.abs(g + lam_s), np.where(theta < 0, np.abs(g - lam_s),
                                                          np.maximum(np.abs(g) - lam_s, 0.0)))
    return float(viol.max() / np.sqrt(np.dot(gr, gr) * len(y)))


def test_grid_warm_across_offsets_reaches_each_cold_optimum_and_its_kkt_conditions(problem):
    """fit_grid (lambda path at the first offset, every later offset's lambdas from the previous offset's, one
    shared Hessian) stops where a cold fit stops, and no pixel it screened out violates the KKT
    conditions (checked with a float64 gradient over every column)."""
    from spectroparallax.model.exp_linear import fit_grid

    X, y, ivar, pen, _ = problem
    lams, offsets = [100.0, 10.0, 3.0], [0.029, 0.048]
    grid = fit_grid(X, y, ivar, pen, lams, offsets)
    # fitting order: the first offset from the largest lambda down, the second from the smallest up
    assert list(grid) == [(lam, 0.029) for lam in lams] + [(lam, 0.048) for lam in lams[::-1]]
    assert [k for k, r in grid.items() if r.burn_in is not None] == [(100.0, 0.029)]   # one cold start
    for (lam, off), res in grid.items():
        assert res.converged, (lam, off, res.message)
        # fit stops at 1e-7 of its float32 gradient; a wrongly screened pixel would be off by far more
        assert _kkt_float64(res.theta, X, y + off, ivar, pen, lam) < 1e-4, (lam, off)
        cold = fit(X, y + off, ivar, pen, lam)
        f_w = objective(res.theta, X, y + off, ivar, pen, lam)
        f_c = objective(cold.theta, X, y + off, ivar, pen, lam)
        assert abs(f_w - f_c) <= REL_OBJECTIVE * f_c, (lam, off, f_w, f_c)
    assert grid[3.0, 0.029].zero_fraction < grid[100.0, 0.029].zero_fraction
