"""The L1-regularized exp-linear parallax model of HER19 sec. 3 (eqs. 1-5).

The model predicts a parallax [mas] as ``exp(X @ theta)``; training minimizes (eq. 3)

    F(theta) = 0.5 * sum_n ivar_n * (y_n - exp(x_n . theta))**2 + lam * sum_{j in P} |theta_j|

with y the Gaia parallax plus offset [mas], ivar = 1 / parallax_error**2 [mas^-2] and P the
spectral (penalized) columns.

:func:`fit` treats the L1 term exactly (exact zeros, clean convergence) with a proximal Newton
method:

* columns are centred and scaled internally (an exact reparametrization: the penalty on theta_j
  becomes lam / s_j on the scaled coefficient; centring is absorbed by the intercept column);
* each outer iteration builds a quadratic model of the smooth part on a *working set* (current
  non-zeros, unpenalized columns and the strongest KKT violators outside them, at most
  max(working_set_min, |support| / :data:`_WS_GROWTH`) of those) with the Hessian
  ``Z^T diag(ivar * p * max(2p - y, 0)) Z`` (the exact one, floored at zero per star), solves that
  weighted lasso (coordinate-descent sweeps to find the sign pattern, Newton steps on the pattern
  with an exact piecewise-quadratic line search, the coefficients a step takes across zero set to
  zero all at once when that is lower; loosely far from the optimum, tightly near it,
  and in a few rounds while violators remain outside the working set),
  and backtracks on the true objective;
* it stops when the largest KKT violation over *all* D coefficients is below
  ``tol * sqrt(N) * |ivar (y - p) p|`` (the size of a unit-variance column's gradient);
* the big matrix products run in float32 (their round-off sets the floor of ``tol``, ~1e-7),
  every sum that enters the objective in float64.

Measured on a synthetic 3000 x 2000 problem: the paper's optimizer took 162 s to an objective of
2785.5 with no exact zeros; L-BFGS-B on the split theta = theta+ - theta- (bounds >= 0) took 23 s
(1967 evaluations) to 2768.5; this proximal Newton method took ~2 s to 2767.68 with 95 % zeros.

The paper's own optimizer (L-BFGS-B with sign() as subgradient) lives in
:mod:`spectroparallax.model.paper_optimizer` for benchmarking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.linalg import cho_factor, cho_solve

from spectroparallax.model import polish

#: Above this linear predictor the optimizer continues exp() linearly: exp(80)**2 * ivar stays far
#: below the float64 overflow limit, and no physical parallax comes near exp(80) mas.
_ETA_CLIP = 80.0
#: Relative ridge (of the mean diagonal) added to the model Hessian so the quadratic sub-problem
#: is strictly convex even with collinear columns (the magnitudes are nearly so) and its support
#: blocks have Cholesky factors despite the round-off of a float32 Gram matrix. It only damps the
#: Newton step (the gradient is exact), but that damping set the pace of the last outer
#: iterations: in the directions where the Hessian is below the ridge each step removed only
#: lambda_k / (lambda_k + ridge) of the error, and 1e-5 left a KKT ratio of ~0.65 per step for the
#: last ~10 iterations of a lambda = 3 fit (the same with exact Newton steps by conjugate gradients
#: on the current Hessian: the ridge, not the stale Hessian, was the limit). 1e-7 cut those fits
#: from 25-26 to 15-16 outer iterations (half-size grid, fold A, 2026-12-07) with no Cholesky
#: failure there at 1e-7 or 1e-9; below 1e-7 the iteration counts grew again (round-off).
_RIDGE = 1e-7
#: Most coordinate-descent sweeps between two Newton steps of the lasso sub-problem.
_CD_SWEEPS = 5
#: Relative KKT tolerance of the burn-in fit: it only has to land near the good optimum.
_BURN_IN_TOL = 1e-4
#: Most rounds (sweeps + Newton step) per lasso sub-problem: an inexact solve still descends.
#: Since :func:`_newton_step` takes every coefficient that crosses zero out at once, a sub-problem
#: that can be solved is solved in a few rounds; one that runs long is usually limited by its stale
#: Hessian, which the next outer iteration may replace. Paper-size grid, both folds (2026-12-07, CPU,
#: idle machine, two runs each): 30 rounds 61.9, 61.8 s; 10 rounds 58.1, 51.7 s.
_QP_ROUNDS = 10
#: Armijo sufficient-decrease constant of the backtracking line search.
_ARMIJO = 1e-4
#: The model Hessian Z^T diag(h) Z is rebuilt only when the per-star curvature h has moved by more
#: than this fraction (sum |h - h_ref| / sum h_ref) since it was built (or a step with the stale
#: one had to backtrack); otherwise it is reused, within a fit, along the lambda path and across
#: offsets. A stale Hessian only slows the rate: the gradient, the KKT check over all columns and
#: the line search on the true objective are always exact, so the optimum is the same.
_H_DRIFT = 0.2
#: Rebuild a stale model Hessian after this many steps in a row with it that each cut the KKT
#: violation by less than half. A rebuild costs N |W|^2; rebuilding after one slow step cut the
#: quarter-size grid's CPU by a third but raised the half-size grid's by 28 %. At the paper's size
#: (the 100,000-row mock's design, both folds, 2026-12-07, ad hoc driver of fit_grid, CPU), as the
#: mean of four runs with the parallaxes scaled by 1, 1 + 1e-9, 1 - 1e-9 and 1 + 2e-9 (one run is
#: one draw of float32 round-off: +-8 %): 8 -> 44.3 s (41.7-47.5), 5 -> 44.0 s, 4 -> 42.3 s
#: (40.4-44.3), 3 -> 42.5 s, 2 -> 45.1 s.
_STALL_STEPS = 4
#: Each outer iteration adds to the working set at most max(working_set_min, |support| / _WS_GROWTH)
#: of the strongest KKT violators outside the support. Adding as many as the support holds (the
#: earlier rule) doubled the working set at a small lambda: the lasso sub-problems on it hit their
#: round limit while the sign pattern changed by hundreds of pixels, and the Hessian cache grew
#: far beyond the final support. Half-size grid, fold A (7,000 x 3,707, 2026-12-07, load ~3):
#: 19.5-20.8 s with 1, 15.4-15.7 s with 10, 15.2 s with 20, 15.3 s with working_set_min alone.
#: 6 together with :data:`_GROWTH_ROUNDS` (same grid, load ~4-6, CPU): 10.9, 10.9 s against 11.6-12.8 s
#: with 10 and 12.3-12.8 s with 6 alone.
_WS_GROWTH = 6
#: Most rounds of a lasso sub-problem while KKT violators remain outside its working set (the
#: next outer iteration adds them and solves again, so an exact answer here is mostly wasted);
#: :data:`_QP_ROUNDS` once the working set holds them all.
_GROWTH_ROUNDS = 5
#: The Hessian cache's storage grows to this many times the columns it must hold, so that adding a
#: few columns does not copy all of it (at most min(D, 1.25 |cols|)^2 float64 kept).
_H_GROWTH = 1.25


@dataclass
class FitResult:
    """Outcome of :func:`fit` (or :func:`spectroparallax.model.paper_optimizer.fit_baseline`).

    theta: (D,) fitted coefficients (ln mas per feature unit); objective: eq. 3 at theta evaluated
    in float64 on the caller's X; n_iter: outer iterations (function evaluations for the baseline);
    converged: the stopping rule was met; zero_fraction: fraction of penalized coefficients that are
    exactly 0.0; kkt_violation: largest violation of the optimality conditions, in units of
    objective per unit of the scaled (unit-variance) feature; time: wall-clock seconds; burn_in:
    the result of the high-S/N burn-in fit (None when started from theta0); optimizer: "exact"
    (:func:`fit`) or "paper" (the baseline); prediction_ratio: median predicted over median observed
    parallax of the training stars, set by :func:`spectroparallax.model.training.train` (NaN until
    then), below :data:`spectroparallax.model.training.COLLAPSE_FRACTION` the fit has collapsed.
    """

    theta: np.ndarray
    objective: float
    n_iter: int
    converged: bool
    message: str = ""
    zero_fraction: float = float("nan")
    kkt_violation: float = float("nan")
    time: float = 0.0
    n_stars: int = 0
    burn_in: FitResult | None = None
    history: list = field(default_factory=list, repr=False)
    optimizer: str = "exact"
    prediction_ratio: float = float("nan")


# ----------------------------------------------------------------------------------------------
# Validation


def _check_inputs(X, y, ivar, penalized, lam, *, check_matrix=True):
    """Convert and validate the training arrays; raise ValueError naming the bad argument.
    ``check_matrix=False`` skips the scan of X for non-finite values (a caller that has done it:
    :func:`fit_grid`'s fits share one X)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D design matrix (stars x features); got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    n, d = X.shape
    y = np.asarray(y, dtype=np.float64)
    ivar = np.asarray(ivar, dtype=np.float64)
    penalized = np.asarray(penalized)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) to match X's {n} rows (stars); got {y.shape}")
    if ivar.shape != (n,):
        raise ValueError(f"ivar must have shape ({n},) to match X's {n} rows (stars); got {ivar.shape}")
    if penalized.shape != (d,) or penalized.dtype != bool:
        raise ValueError(
            f"penalized must be a boolean mask of shape ({d},) (one entry per column of X); "
            f"got dtype {penalized.dtype}, shape {penalized.shape}"
        )
    if check_matrix:
        _check_finite_matrix(X)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ValueError(f"y (parallax) is not finite for {bad.size} stars, e.g. row {bad[0]}; drop or fix them")
    bad = np.flatnonzero(~np.isfinite(ivar) | (ivar < 0))
    if bad.size:
        raise ValueError(
            f"ivar must be finite and >= 0; {bad.size} stars are not, e.g. row {bad[0]} "
            f"(ivar = {ivar[bad[0]]}); check parallax_error > 0"
        )
    lam_v = np.asarray(lam, dtype=np.float64)
    if lam_v.ndim not in (0, 1) or (lam_v.ndim == 1 and lam_v.shape != (d,)):
        raise ValueError(f"lam must be a scalar or have shape ({d},); got shape {lam_v.shape}")
    if not np.all(np.isfinite(lam_v)) or np.any(lam_v < 0):
        raise ValueError(f"lam must be finite and >= 0; got {lam}")
    lam_v = np.where(penalized, np.broadcast_to(lam_v, (d,)), 0.0)
    return X, y, ivar, penalized, lam_v


def _check_finite_matrix(X, name="X"):
    """Raise ValueError naming the first non-finite entry of ``X`` (checked in row blocks)."""
    step = max(1, 2**24 // max(X.shape[1], 1))
    for i in range(0, X.shape[0], step):
        ok = np.isfinite(X[i : i + step])
        if not ok.all():
            r, c = np.argwhere(~ok)[0]
            raise ValueError(
                f"{name} has non-finite values, e.g. row (star) {i + r}, column (feature) {c}; "
                "every star needs a complete feature vector (HER19 sec. 3)"
            )


def _check_theta(theta, d, name="theta"):
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (d,):
        raise ValueError(f"{name} must have shape ({d},) (one coefficient per column of X); got {theta.shape}")
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"{name} has non-finite coefficients")
    return theta


# ----------------------------------------------------------------------------------------------
# Objective and prediction


def objective(theta, X, y, ivar, penalized, lam) -> float:
    """Eq. 3: 0.5 * sum(ivar * (y - exp(X @ theta))**2) + lam * sum(|theta[penalized]|).

    theta (D,); X (N, D) features; y (N,) parallax [mas]; ivar (N,) [mas^-2]; penalized (D,) bool;
    lam scalar (or (D,) per-feature strengths). Evaluated in float64; returns inf if exp overflows.
    """
    X, y, ivar, penalized, lam_v = _check_inputs(X, y, ivar, penalized, lam)
    return _objective(_check_theta(theta, X.shape[1]), X, y, ivar, lam_v)


def _objective(theta, X, y, ivar, lam_v, *, finite=False) -> float:
    """:func:`objective` on arrays already checked (lam_v: (D,), zero on unpenalized columns).

    ``finite``: X is known to hold no NaN or inf, so the product may skip theta's zero columns
    (:func:`polish.linear_predictor`; a fit's objectives, two per warm fit).
    """
    eta = polish.linear_predictor(X, theta, np.flatnonzero(theta) if finite else None)
    with np.errstate(over="ignore"):
        r = y - np.exp(eta)
        chi2 = np.dot(ivar * r, r)
    return float(0.5 * chi2 + np.dot(lam_v, np.abs(theta)))


def predict(theta, X, X_err):
    """Spectrophotometric parallax and its uncertainty (eqs. 4 and 5).

    parallax = exp(X @ theta) [mas]; parallax_err = parallax * sqrt(sum_j theta_j^2 X_err_j^2) [mas]
    for independent feature errors X_err (N, D) in the units of X (diagonal C_m of eq. 5, with the
    square root the paper's code takes).
    """
    X = np.asarray(X)
    X_err = np.asarray(X_err)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (stars x features); got shape {X.shape}")
    if X_err.shape != X.shape:
        raise ValueError(f"X_err must have the shape of X {X.shape}; got {X_err.shape}")
    theta = _check_theta(theta, X.shape[1])
    _check_finite_matrix(X)
    _check_finite_matrix(X_err, "X_err")
    with np.errstate(over="ignore"):
        parallax = np.exp(polish.linear_predictor(X, theta))
    var = polish.linear_predictor(np.square(X_err if np.issubdtype(X_err.dtype, np.floating) else X_err.astype(float)), theta**2)
    return parallax, parallax * np.sqrt(var)


# ----------------------------------------------------------------------------------------------
# Internal scaled problem


def _column_mean_std(X):
    """Column means and standard deviations of X (float64), in two passes over blocks of rows.

    np.std(X, axis=0, dtype=float64) makes a float64 copy of all of X (0.6-1.8 s of CPU at the
    paper's size, 12,714 x 7,414); blocks of rows give the same numbers to ~1e-11 relative in
    0.2 s. A constant column's deviations are exactly zero (its float64 sum of float32 values is
    exact), as the intercept test of :class:`_Scaled` needs.
    """
    n, d = X.shape
    step = max(1, 2**20 // max(d, 1))
    total = np.zeros(d)
    for i in range(0, n, step):
        total += X[i : i + step].sum(axis=0, dtype=np.float64)
    mu = total / n
    squares = np.zeros(d)
    for i in range(0, n, step):
        dev = X[i : i + step] - mu
        squares += np.einsum("ij,ij->j", dev, dev)
    return mu, np.sqrt(squares / n)


class _Scaled:
    """Centred, scaled float32 copy of X: Z = (X - mu) / s, with the intercept left as a column of ones.

    theta_j = beta_j / s_j (j != intercept); the intercept absorbs the centring. Without an
    unpenalized constant column nothing is centred (mu = 0).
    """

    def __init__(self, X, penalized):
        n, d = X.shape
        mu, sd = _column_mean_std(X)
        const = sd <= 1e-12 * np.maximum(np.abs(mu), 1e-300)
        cand = np.flatnonzero(const & ~penalized & (mu != 0))
        self.icpt = int(cand[0]) if cand.size else None
        if self.icpt is None:
            mu = np.zeros(d)
            sd = np.sqrt(np.mean(np.square(X, dtype=np.float64), axis=0))
            sd[sd == 0] = 1.0
            self.c = None
        else:
            self.c = float(mu[self.icpt])
            sd[const] = 1.0  # other constant columns centre to exactly zero and keep beta = 0
            mu[self.icpt] = 0.0
            sd[self.icpt] = self.c  # the scaled intercept column is exactly 1
        self.mu, self.s = mu, sd
        # column-major: the Hessian cache gathers working-set columns (a copy per column instead of a
        # strided gather across every row: 0.65 s of a 16.8 s paper-size lambda = 3 fit, 2026-12-07)
        self.Z = np.empty((n, d), dtype=np.float32, order="F")
        # Its memory is touched in order first (0.05 s), then filled in tiles of 256 x 64, small
        # enough that the transposing copy into column-major stays in cache. For the 12,714 x 7,414
        # fold of the paper-size mock (ad hoc, one process, 2026-12-07): 0.38-0.49 s, against
        # 0.41-1.21 s for the same tiles on untouched memory (its first touch in tile order) and
        # 0.9-1.0 s on touched memory in blocks of ~35 whole rows (the earlier fill).
        self.Z.fill(0.0)
        for j in range(0, d, 64):
            m, s = mu[j : j + 64], sd[j : j + 64]
            for i in range(0, n, 256):
                self.Z[i : i + 256, j : j + 64] = (X[i : i + 256, j : j + 64] - m) / s

    def to_theta(self, beta):
        theta = beta / self.s
        if self.icpt is not None:
            theta[self.icpt] = 0.0
            theta[self.icpt] = (beta[self.icpt] - np.dot(self.mu, theta)) / self.c
        return theta

    def to_beta(self, theta):
        beta = theta * self.s
        if self.icpt is not None:
            beta[self.icpt] = self.c * theta[self.icpt] + np.dot(self.mu, theta)  # mu[icpt] == 0
        return beta


class _Curvature:
    """The model Hessian Z^T diag(h_ref) Z on a growing set of columns of the scaled matrix Z.

    Building it costs N |W|^2 flops, by far the largest cost of an outer iteration once the
    working set holds thousands of pixels; it is kept and extended by the columns a later
    working set adds (N |new| |cols| flops), and rebuilt on the current working set only when
    ``h`` has drifted (:data:`_H_DRIFT`) or the caller asks (``fresh``). One instance may serve
    every fit on the same Z (a lambda path, several offsets). The weighted columns
    Z[:, cols] * sqrt(h_ref / h_max) are kept too (float32, column-major, N x at most
    min(D, 1.25 |cols|)), so an extension multiplies only the new columns' copy with them.
    """

    def __init__(self, Z):
        self.Z = Z
        self.pos = np.full(Z.shape[1], -1, dtype=np.intp)  # column -> row of self.H (-1: absent)
        self.cols = np.empty(0, dtype=np.intp)
        self.H = self._store = np.empty((0, 0))   # H: the top-left block of _store in use
        self._zw = np.empty((Z.shape[0], 0), np.float32, order="F")
        self._qp_block = np.empty(0)   # storage of the block matrix() returns (see there)
        self.h_ref = None
        self.builds = 0

    def _keep_columns(self, cols, m):
        """Write the weighted columns Z[:, cols] * sw at positions m, m + 1, ... of the column buffer
        (grown by :data:`_H_GROWTH` when full) and return that view of them."""
        M = m + cols.size
        if M > self._zw.shape[1]:
            grown = np.empty((self.Z.shape[0], min(self.Z.shape[1], int(_H_GROWTH * M) + 1)), np.float32, order="F")
            grown[:, :m] = self._zw[:, :m]
            self._zw = grown
        out = self._zw[:, m:M]
        _weigh_columns(self.Z, np.asarray(cols, dtype=np.intp), self.sw, out)
        return out

    def matrix(self, W, h, fresh=False):
        """(H restricted to the columns W, with the ridge; whether it was built from this ``h``).

        The block is written into storage kept by the cache: it is valid until the next call.
        """
        built = (fresh or self.h_ref is None or self.h_ref.shape != h.shape
                 or float(np.sum(np.abs(h - self.h_ref))) > _H_DRIFT * float(np.sum(self.h_ref)))
        if built:
            self.h_ref = h.copy()
            self.h_max = float(h.max()) or 1.0  # scaled to <= 1 so float32 cannot overflow
            self.sw = np.sqrt(h / self.h_max).astype(np.float32)
            Zh = self._keep_columns(W, 0)   # into the previous build's buffer when it has room
            gram = Zh.T @ Zh
            del Zh
            m = W.size
            if m > self._store.shape[0]:
                self._store = np.empty((min(self.Z.shape[1], int(_H_GROWTH * m) + 1),) * 2)
            # float64 (strong) scalar: the float32 product is widened first, as astype(float64) did
            self.H = np.multiply(gram, np.float64(self.h_max), out=self._store[:m, :m])
            del gram
            self.pos[:] = -1
            self.cols = np.array(W, dtype=np.intp)
            self.pos[self.cols] = np.arange(self.cols.size)
            self.builds += 1
            # fixed per build (not per working set) so that any block of H is the same matrix
            self.ridge = _RIDGE * float(np.mean(np.diag(self.H))) + 1e-300
            self.solver = _SupportSolver(self.block, getattr(self, "solver", None))
        else:
            new = W[self.pos[W] < 0]
            if new.size:
                m = self.cols.size
                M = m + new.size
                # the cached columns' weighted copy is kept (column-major, room to grow): the cross
                # terms cost N |new| |cols| flops and no gather of |cols| columns of Z (before, a
                # product with all of Z or a gathered copy: half-size grid, fold A, CPU 14.6, 14.7 s
                # -> 13.7, 13.9 s, 2026-12-07)
                Zn = self._keep_columns(new, m)
                cross = (Zn.T @ self._zw[:, :m]).astype(np.float64) * self.h_max
                corner = (Zn.T @ Zn).astype(np.float64) * self.h_max
                del Zn
                if M > self._store.shape[0]:
                    # room to grow: extending by a few pixels per iteration no longer copies the
                    # whole cache each time (half-size grid, fold A: 15.4-16.1 s -> 14.2-14.8 s)
                    store = np.empty((min(self.Z.shape[1], int(_H_GROWTH * M) + 1),) * 2)
                    store[:m, :m] = self.H
                    self._store = store
                self._store[m:M, :m] = cross
                self._store[:m, m:M] = cross.T
                self._store[m:M, m:M] = corner
                self.H = self._store[:M, :M]
                self.pos[new] = m + np.arange(new.size)
                self.cols = np.concatenate([self.cols, new])
        if self._qp_block.size < W.size**2:
            self._qp_block = np.empty(int(_H_GROWTH**2 * W.size**2) + 1)
        return self.block(W, W, out=self._qp_block), built

    def block(self, rows, cols, out=None):
        """H (with the ridge) at the columns ``rows`` x ``cols`` of Z (all in the cache); ``out``: a
        float64 buffer of at least |rows| |cols| elements to hold it (returned as a view of it).

        A block of thousands of columns is ~100 MB: a new array for it each time cost more in page
        faults than the copy itself (3,300 x 3,300 at the paper's size, ad hoc, 2026-12-07: 37 ms
        through np.ix_, 12.5 ms compiled into kept storage).
        """
        i, j = self.pos[rows], self.pos[cols]
        B = np.empty((i.size, j.size)) if out is None else out[: i.size * j.size].reshape(i.size, j.size)
        _gather(self._store, i, j, B)
        if rows is cols or (rows.size == cols.size and np.array_equal(rows, cols)):
            B.flat[:: B.shape[0] + 1] += self.ridge   # a diagonal block: no |rows| x |cols| mask
        else:
            B[i[:, None] == j[None, :]] += self.ridge
        return B


@njit(cache=True)
def _weigh_columns(Z, cols, sw, out):
    """out[:, k] = Z[:, cols[k]] * sw without a copy of those columns first (Z, out column-major)."""
    for k in range(cols.shape[0]):
        src = Z[:, cols[k]]
        dst = out[:, k]
        for i in range(sw.shape[0]):
            dst[i] = src[i] * sw[i]


@njit(cache=True, fastmath={"contract"})
def _column_product(Z, cols, v, out):
    """out = Z[:, cols] @ v in float32, one column of the column-major Z at a time."""
    for i in range(out.shape[0]):
        out[i] = 0.0
    for k in range(cols.shape[0]):
        src = Z[:, cols[k]]
        vk = v[k]
        for i in range(out.shape[0]):
            out[i] += src[i] * vk


def _product_on(Z, cols, v):
    """Z[:, cols] @ v (float64 result of float32 sums) for the scaled matrix Z, reading only the
    columns ``cols`` while they are at most a third of Z's.

    The solver's steps and predictors are non-zero on the working set only (1-15 % of the pixels at
    lambda >= 10, ~45 % at 3), and a product with all of Z streams 377 MB at the paper's size:
    15 ms against 0.2 / 3.8 / 12.6 ms through 1 / 13 / 45 % of the columns (ad hoc, 2026-12-07), so
    from about a third on little is gained and BLAS keeps the product. The sums are float32 as
    BLAS's, in another order (differences of ~1e-7 relative). The burn-in's Z (a subset of rows) is
    row-major, where a column is strided: BLAS too.
    """
    if 3 * cols.size > Z.shape[1] or not Z.flags.f_contiguous:
        full = np.zeros(Z.shape[1], dtype=np.float32)
        full[cols] = v
        return (Z @ full).astype(np.float64)
    out = np.empty(Z.shape[0], dtype=np.float32)
    _column_product(Z, np.asarray(cols, dtype=np.intp), np.asarray(v, dtype=np.float32), out)
    return out.astype(np.float64)


@njit(cache=True)
def _gather(H, rows, cols, out):
    """out[a, b] = H[rows[a], cols[b]] (np.ix_'s gather into given storage)."""
    for a in range(rows.shape[0]):
        src = H[rows[a]]
        dst = out[a]
        for b in range(cols.shape[0]):
            dst[b] = src[cols[b]]


def _smooth(eta, y, w):
    """Model parallax p(eta), dp/deta, residual y - p and 0.5 chi^2 (float64).

    Above _ETA_CLIP exp() is continued linearly (same value and slope at the joint), so a start
    that would overflow still has a finite objective that decreases towards the good region.
    """
    big = eta > _ETA_CLIP
    e = np.exp(np.minimum(eta, _ETA_CLIP))
    p = np.where(big, e * (1.0 + (eta - _ETA_CLIP)), e)
    r = y - p
    return p, e, r, 0.5 * float(np.dot(w * r, r))


def _rmatvec32(Z, v):
    """Z^T v with float32 Z, v rescaled to |v| <= 1 first so that float32 cannot overflow."""
    scale = float(np.max(np.abs(v))) or 1.0
    return (((v / scale).astype(np.float32) @ Z).astype(np.float64)) * scale


# ----------------------------------------------------------------------------------------------
# Weighted-lasso QP: min_x c.x + 0.5 x^T H x + sum_j lam_j |x_j|


@njit(cache=True)
def _cd_sweep(H, q, x, lam, diag, idx):
    """One cyclic coordinate-descent pass over ``idx``; updates x and q = c + H x in place.

    Compiled: the sweep visits every working-set coordinate one at a time (a Python loop here
    was most of a path step's time once the working set reached thousands of pixels).
    """
    m = q.shape[0]
    for k in range(idx.shape[0]):
        j = idx[k]
        hjj = diag[j]
        xj = x[j]
        u = xj - q[j] / hjj
        lj = lam[j] / hjj
        if u > lj:
            xn = u - lj
        elif u < -lj:
            xn = u + lj
        else:
            xn = 0.0
        if xn != xj:
            step = xn - xj
            for i in range(m):
                q[i] += step * H[j, i]
            x[j] = xn


def _qp_value(c, q, x, lam):
    """c.x + 0.5 x^T H x + lam.|x| given q = c + H x."""
    return 0.5 * float(np.dot(c + q, x)) + float(np.dot(lam, np.abs(x)))


def _line_search(H, c, q, x, lam, d):
    """Move x to the exact minimizer of the QP objective along x + t d, 0 <= t <= 1.

    Along the line the objective is convex and piecewise quadratic, with breakpoints where
    non-zero coefficients cross zero; a coefficient stopped at its breakpoint becomes an exact
    zero. Updates x and q = c + H x in place; returns the step length t.
    """
    Hd = H @ d
    a = float(np.dot(d, Hd))  # curvature of the smooth part along d
    if not a > 0:
        return 0.0
    nz = x != 0
    sg = np.sign(x)
    # slope of the penalty at t = 0+: lam.|d| on zeros, lam d sign(x) elsewhere; it rises by
    # 2 lam_j |d_j| where coefficient j crosses zero (t_j = -x_j / d_j)
    slope = float(np.dot(q, d)) + float(np.dot(lam[nz], d[nz] * sg[nz])) + float(np.dot(lam[~nz], np.abs(d[~nz])))
    if slope >= 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        tb = np.where(nz & (d * sg < 0), -x / d, np.inf)
    cand = np.flatnonzero(tb < 1)
    cand = cand[np.argsort(tb[cand])]
    # slope before the k-th breakpoint (the running sum in the order a loop would add them),
    # and the unconstrained minimizer of the quadratic piece it starts
    slopes = np.cumsum(np.concatenate(([slope], 2.0 * lam[cand] * np.abs(d[cand]))))
    t_stars = -slopes / a
    tks = tb[cand]
    hit = np.flatnonzero(t_stars[:-1] <= tks)
    k = int(hit[0]) if hit.size else cand.size   # the piece the minimizer lies on
    t_lo, kink = (float(tks[k - 1]), cand[k - 1]) if k > 0 else (0.0, None)
    t = max(float(t_stars[k]), t_lo) if hit.size else min(max(float(t_stars[k]), t_lo), 1.0)
    if t <= 0:
        return 0.0
    xn = x + t * d
    if kink is not None and t == t_lo:
        xn[kink] = 0.0  # stopped at a kink: that coefficient is exactly zero
    qn = q + H @ (xn - x) if kink is not None and t == t_lo else q + t * Hd
    # guard against round-off in a nearly singular H: only ever accept a decrease
    if _qp_value(c, qn, xn, lam) < _qp_value(c, q, x, lam):
        x[:] = xn
        q[:] = qn
        return t
    return 0.0


class _SupportSolver:
    """Solves H_SS d = v for the changing sign-pattern supports S of one Hessian.

    ``block(rows, cols, out=None)`` returns H's entries (with its ridge) for index arrays (in the
    storage ``out`` if it uses it). The last
    Cholesky factor (of H_KK, K the support it was computed for) is kept; a support that differs
    from K by a few columns (entering: A, leaving: R) is solved exactly by block elimination on it
    (the Schur complement of A, and Lagrange multipliers that hold the R coefficients at zero), in
    O((|A| + |R|) |K|^2) instead of a new |S|^3 / 3 factorization; a large change refactorizes.
    The solves with H_KK that an entering or leaving column needs (H_KK^{-1} H_Ka, H_KK^{-1} e_r)
    depend on that column only, so they are kept until the next factorization: the Newton steps
    of a QP, and of the later QPs on the same Hessian, mostly see the same A and R again (at the
    paper's size these solves were ~60 % of a 90 s py-spy sample of the grid before they were kept).
    """

    def __init__(self, block, previous=None):
        self.block = block
        self.K = None
        self.cf = None
        # storage of the factor, taken over from the solver this one replaces (see _Curvature.block)
        self._ws = np.empty(0) if previous is None else previous._ws

    def _factor(self, S):
        self._entering, self._entering_solved, self._leaving = {}, {}, {}
        if self._ws.size < S.size**2:
            self._ws = np.empty(int(_H_GROWTH**2 * S.size**2) + 1)
        try:
            # the block is gathered into the old factor's storage and factored in place
            self.cf = cho_factor(self.block(S, S, out=self._ws), overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError:
            self.K = self.cf = None
            return False
        self.K = S.copy()
        return True

    def _kept(self, cache, cols, compute):
        """(|K|, len(cols)) array of cache[c] for c in cols, the missing ones from compute(their indices)."""
        missing = [c for c in cols.tolist() if c not in cache]
        if missing:
            if len(cache) + len(missing) > self.K.size:  # bound the memory: at most |K| kept columns
                cache.clear()
                missing = cols.tolist()
            new = compute(np.array(missing, dtype=np.intp))
            for k, c in enumerate(missing):
                cache[c] = new[:, k]
        if not cols.size:
            return np.empty((self.K.size, 0))
        return np.column_stack([cache[c] for c in cols.tolist()])

    def solve(self, S, v):
        """H_SS^{-1} v for sorted indices S; None if H_SS is not positive definite."""
        K = self.K
        if K is not None:
            A = S[~np.isin(S, K, assume_unique=True)]
            R = K[~np.isin(K, S, assume_unique=True)]
            if A.size + R.size == 0:
                return cho_solve(self.cf, v, check_finite=False)
            if A.size + R.size <= max(8, K.size // 10) and A.size < K.size:
                d = self._update_solve(S, v, A, R)
                if d is not None:
                    return d
        if not self._factor(S):
            return None
        return cho_solve(self.cf, v, check_finite=False)

    def _update_solve(self, S, v, A, R):
        K, cf = self.K, self.cf
        nk = K.size
        if A.size:
            HKA = self._kept(self._entering, A, lambda a: self.block(K, a))
            U = self._kept(self._entering_solved, A, lambda a: cho_solve(cf, self.block(K, a), check_finite=False))
            try:
                sc = cho_factor(self.block(A, A) - HKA.T @ U, overwrite_a=True, check_finite=False)
            except np.linalg.LinAlgError:
                return None

        def t_solve(r, zK=None):  # solve on T = K + A (in that order) by block elimination
            if zK is None:
                zK = cho_solve(cf, r[:nk], check_finite=False)
            if not A.size:
                return zK
            zA = cho_solve(sc, r[nk:] - U.T @ r[:nk], check_finite=False)
            return np.concatenate([zK - U @ zA, zA])

        # positions of S in T; the right-hand side is zero on R (their multipliers absorb it)
        in_k = np.isin(S, K, assume_unique=True)
        posS = np.where(in_k, np.searchsorted(K, S), nk + np.searchsorted(A, S))
        r = np.zeros(nk + A.size)
        r[posS] = v
        z = t_solve(r)
        if R.size:
            rpos = np.searchsorted(K, R)
            E = np.zeros((nk + A.size, R.size))
            E[rpos, np.arange(R.size)] = 1.0
            G = t_solve(E, self._kept(self._leaving, R, lambda r: _unit_solve(cf, np.searchsorted(K, r), nk)))
            try:
                mu = np.linalg.solve(G[rpos], -z[rpos])
            except np.linalg.LinAlgError:
                return None
            z = z + G @ mu
        return z[posS]


def _unit_solve(cf, rows, n):
    """Columns ``rows`` of H^{-1} from the Cholesky factor ``cf`` of the (n, n) matrix H."""
    E = np.zeros((n, rows.size))
    E[rows, np.arange(rows.size)] = 1.0
    return cho_solve(cf, E, check_finite=False)


def _newton_direction(q, x, lam, solver, cols):
    """Newton direction of the QP restricted to the sign pattern (orthant) of x; None if singular.

    ``solver`` (a :class:`_SupportSolver` of the QP's Hessian, indexed by ``cols[j]`` for
    coefficient j) keeps a factorization between the Newton steps of a QP and of later QPs on the
    same Hessian.
    """
    S = np.flatnonzero(x != 0)
    d = np.zeros_like(x)
    if not S.size:
        return d
    sol = solver.solve(cols[S], q[S] + lam[S] * np.sign(x[S]))
    if sol is None:
        return None
    d[S] = -sol
    return d


def _lasso_qp(H, c, lam, x0, tol, max_rounds=_QP_ROUNDS, *, solver=None, cols=None):
    """Solve the weighted lasso QP exactly (to ``tol`` in the KKT violation).

    Alternates coordinate-descent sweeps (which find the sign pattern) with Newton steps on that
    sign pattern and exact line searches (:func:`_newton_step`), at most ``max_rounds``
    times: a partial solve still lowers the model, so the outer step still descends.
    ``solver``/``cols``: a :class:`_SupportSolver` of the Hessian H is a block of (H = its
    rows and columns ``cols``), shared between sub-problems. Returns (x, rounds).
    """
    x = x0.copy()
    diag = np.diag(H).copy()
    live = np.flatnonzero(diag > 0)
    x[diag <= 0] = 0.0
    q = c + H @ x
    if solver is None:
        cols = np.arange(x.size)
        solver = _SupportSolver(lambda i, j, out=None: H[np.ix_(i, j)])
    for rounds in range(1, max_rounds + 1):
        # coordinate descent until the sign pattern settles (cheap per sweep but slow on
        # correlated columns), then a Newton step on that pattern with an exact line search
        for _ in range(_CD_SWEEPS):
            before = x != 0
            _cd_sweep(H, q, x, lam, diag, live)
            if np.array_equal(before, x != 0):
                break
        if polish.kkt_violation(x, q, lam)[live].max(initial=0.0) <= tol:
            return x, rounds
        d = _newton_direction(q, x, lam, solver, cols)
        if d is not None:
            _newton_step(H, c, q, x, lam, d, solver, cols)
        if polish.kkt_violation(x, q, lam)[live].max(initial=0.0) <= tol:
            return x, rounds
    return x, max_rounds


def _newton_step(H, c, q, x, lam, d, solver, cols):
    """Move x (and q = c + H x) along the Newton direction ``d`` of its sign pattern, in place.

    The exact line search (:func:`_line_search`) stops at the first kink where stopping pays, so
    when the Newton step would take several coefficients across zero, a round removed one of them
    and moved the rest by a tiny step (t ~ 1e-3): near the optimum of a paper-size lambda = 3 fit
    the sub-problems ran their 30-round limit one coefficient at a time. So the step is also tried
    with every coefficient that ``d`` takes across zero set to zero at once, then the Newton
    direction of the sign pattern that leaves, with its own exact line search; the lower of the
    two QP values is kept (never above the start: both line searches accept only decreases).
    Measured on the 14 sub-problems of one such fit (100,000-row mock, fold A, 2026-12-07): 1-4
    rounds instead of 1-30, 6.6 s instead of 14.4 s, every one at a QP value as low or lower.
    """
    cross = (x != 0) & (np.sign(x + d) != np.sign(x))
    if not cross.any():
        _line_search(H, c, q, x, lam, d)
        return
    x2 = x.copy()
    x2[cross] = 0.0
    q2 = q - H[cross].T @ x[cross]   # H is symmetric: its rows are its columns
    d2 = _newton_direction(q2, x2, lam, solver, cols)
    if d2 is not None:
        _line_search(H, c, q2, x2, lam, d2)
    _line_search(H, c, q, x, lam, d)
    if d2 is not None and _qp_value(c, q2, x2, lam) < _qp_value(c, q, x, lam):
        x[:], q[:] = x2, q2


# ----------------------------------------------------------------------------------------------
# Proximal Newton on the scaled problem


def _prox_newton(Z, y, w, lam_v, beta, max_iter, tol, ws_min, history, *, curvature=None):
    """Minimize 0.5 sum w (y - exp(Z beta))^2 + sum lam_v |beta| from ``beta`` (modified copy returned).

    ``curvature``: a :class:`_Curvature` of Z to reuse (shared along a path), else a new one.
    Returns (beta, n_iter, converged, message, kkt_violation).
    """
    n = Z.shape[0]
    if curvature is None:
        curvature = _Curvature(Z)
    fresh = False
    kkt_before, stalled = None, 0  # KKT violation before the last stale-Hessian step; such slow steps in a row
    beta = beta.copy()
    unpen = lam_v == 0
    eta = _product_on(Z, np.flatnonzero(beta), beta[beta != 0])
    p, dp, r, f = _smooth(eta, y, w)
    F = f + float(np.dot(lam_v, np.abs(beta)))
    message = "maximum number of iterations reached"
    converged = False
    kkt = np.inf
    for it in range(1, max_iter + 1):
        gr = -w * r * dp
        g = _rmatvec32(Z, gr)
        viol = polish.kkt_violation(beta, g, lam_v)
        # scale for the stopping rule: the size of the per-feature gradient terms
        gscale = float(np.sqrt(np.dot(gr, gr) * n)) + 1e-300
        kkt = float(viol.max())
        # a stale Hessian converges only linearly near the optimum: after _STALL_STEPS steps in a
        # row with it that each cut the KKT violation by less than half, rebuild it (lambda = 3
        # of the paper-size grid once took 195 outer iterations at a ratio of ~0.97 each)
        if kkt_before is not None:
            stalled = stalled + 1 if kkt > 0.5 * kkt_before else 0
            fresh = fresh or stalled >= _STALL_STEPS
        support = (beta != 0) | unpen
        outside = ~support & (viol > 0)
        n_out = int(outside.sum())
        history.append({"iter": it, "F": F, "kkt": kkt, "n_support": int(support.sum()), "n_violators": n_out})
        if it > 1:
            history[-2]["qp_rounds"] = qp_rounds
        if kkt <= tol * gscale:
            converged, message = True, "KKT conditions satisfied"
            break
        # working set: support + the strongest violators outside it (_WS_GROWTH)
        ws = support.copy()
        if n_out:
            k = max(ws_min, int(support.sum()) // _WS_GROWTH)
            cand = np.flatnonzero(outside)
            if cand.size > k:
                cand = cand[np.argpartition(-viol[cand], k - 1)[:k]]
            ws[cand] = True
        W = np.flatnonzero(ws)
        # exact curvature w (dp^2 - r d2p), floored at 0 (Gauss-Newton would drop the r d2p term)
        h = np.maximum(w * (dp * dp - r * np.where(eta > _ETA_CLIP, 0.0, p)), 0.0)
        H, built = curvature.matrix(W, h, fresh=fresh)
        history[-1]["hessian"] = "built" if built else "stale"
        bW = beta[W]
        c = g[W] - H @ bW
        # inexact sub-problem solves far from the optimum, ever tighter close to it
        growing = n_out > W.size - int(support.sum())
        xW, qp_rounds = _lasso_qp(H, c, lam_v[W], bW, tol=max(1e-2 * kkt, 1e-3 * tol * gscale),
                                  max_rounds=_GROWTH_ROUNDS if growing else _QP_ROUNDS,
                                  solver=curvature.solver, cols=W)
        dW = xW - bW
        # predicted decrease of the model (negative); line search on the true objective
        pen_old = float(np.dot(lam_v, np.abs(beta)))
        pen_new_W = float(np.dot(lam_v[W], np.abs(xW))) - float(np.dot(lam_v[W], np.abs(bW)))
        delta = float(np.dot(g[W], dW)) + pen_new_W
        if not delta < 0 and not built:
            fresh = True  # a stale Hessian gave no descent: retry with the current one
            continue
        if not delta < 0:
            # the float32 gradient cannot resolve a better step
            converged = kkt <= 100 * tol * gscale
            message = "no descent direction left at float32 precision"
            break
        deta = _product_on(Z, W, dW)
        t = 1.0
        for _ in range(60):
            bt = bW + t * dW
            p_t, dp_t, r_t, f_t = _smooth(eta + t * deta, y, w)
            F_t = f_t + pen_old + float(np.dot(lam_v[W], np.abs(bt))) - float(np.dot(lam_v[W], np.abs(bW)))
            if F_t <= F + _ARMIJO * t * delta:
                break
            t *= 0.5
        else:
            converged, message = False, "line search failed"
            break
        fresh = t < 1.0 and not built  # a stale Hessian that needed backtracking: rebuild it
        kkt_before = None if built else kkt
        stalled = 0 if built else stalled
        beta[W] = bt
        beta[W[np.abs(bt) == 0]] = 0.0
        dF = F - F_t
        F, p, dp, r = F_t, p_t, dp_t, r_t
        eta = eta + t * deta
        if it % 10 == 0:  # refresh eta to stop float32 round-off accumulating
            eta = _product_on(Z, np.flatnonzero(beta), beta[beta != 0])
            p, dp, r, f = _smooth(eta, y, w)
            F = f + float(np.dot(lam_v, np.abs(beta)))
        if dF <= 1e-13 * abs(F) and n_out == 0:
            converged, message = True, "objective no longer decreases"
            break
    return beta, it, converged, message, kkt


def fit(X, y, ivar, penalized, lam, burn_in_snr=20.0, theta0=None, *, burn_in=None, max_iter=200, tol=1e-7,
        working_set_min=100, _shared=None) -> FitResult:
    """Fit eq. 3 exactly: minimize 0.5 chi^2 + lam * ||theta[penalized]||_1.

    X (N, D) features (float32 is fine); y (N,) Gaia parallax + offset [mas]; ivar (N,)
    1/parallax_error^2 [mas^-2]; penalized (D,) bool mask of the spectral columns; lam >= 0 (scalar or
    (D,)). Without ``theta0`` a burn-in fit on the stars with y * sqrt(ivar) > burn_in_snr starts from a
    constant parallax and seeds the fit to all stars (HER19 sec. 3: avoids the degenerate optimum
    where exp underflows). ``burn_in`` (N,) bool, if given, is the burn-in subset instead (the
    caller's :func:`spectroparallax.catalog.stats.high_snr`, switches.high_snr_subset). With ``theta0`` the
    fit starts there (warm start along a lambda grid).
    ``tol`` is the relative KKT tolerance; ``working_set_min`` the least number of KKT violators
    added to the working set per iteration. ``_shared`` (internal, :func:`fit_grid`): the scaled
    matrix of this X and its Hessian cache, reused between fits on the same X (whose values the
    caller has checked to be finite).
    """
    t0 = time.perf_counter()
    X, y, ivar, penalized, lam_v = _check_inputs(X, y, ivar, penalized, lam, check_matrix=_shared is None)
    n, d = X.shape
    sc, curvature = _shared if _shared is not None else (_Scaled(X, penalized), None)
    lam_b = lam_v / sc.s  # |theta_j| = |beta_j| / s_j
    if sc.icpt is not None:
        lam_b[sc.icpt] = 0.0
    burn = None
    if theta0 is None:
        hi = y * np.sqrt(ivar) > burn_in_snr if burn_in is None else _check_burn_in(burn_in, n)
        if n < 2:
            raise ValueError(f"{n} training star(s): nothing to fit; the Training Set cut-flow says which cut removed "
                             "them (results/<survey>/samples/cutflow.csv)")
        if hi.sum() < 2:
            raise ValueError(
                f"burn-in: only {int(hi.sum())} of {n} training stars have parallax / error > burn_in_snr = "
                f"{burn_in_snr}; lower model.burn_in_snr or pass theta0"
            )
        if sc.icpt is None:
            raise ValueError("fit without theta0 needs an unpenalized constant (intercept) column in X")
        beta = np.zeros(d)
        # start from the constant parallax that best fits the burn-in stars
        beta[sc.icpt] = np.log(np.sum(ivar[hi] * y[hi] ** 2) / np.sum(ivar[hi] * y[hi]))
        hist = []
        tb = time.perf_counter()
        beta, it, conv, msg, kkt = _prox_newton(
            sc.Z[hi], y[hi], ivar[hi], lam_b, beta, max_iter, max(tol, _BURN_IN_TOL), working_set_min, hist
        )
        th = sc.to_theta(beta)
        burn = FitResult(
            theta=th, objective=_objective(th, X[hi], y[hi], ivar[hi], lam_v, finite=True), n_iter=it,
            converged=conv, message=msg, zero_fraction=_zero_fraction(th, penalized), kkt_violation=kkt,
            time=time.perf_counter() - tb, n_stars=int(hi.sum()), history=hist,
        )
    else:
        beta = sc.to_beta(_check_theta(theta0, d, "theta0"))
    hist = []
    beta, it, conv, msg, kkt = _prox_newton(sc.Z, y, ivar, lam_b, beta, max_iter, tol, working_set_min, hist,
                                            curvature=curvature)
    theta = sc.to_theta(beta)
    if not conv:
        # Stalled at float32 precision (an ill-conditioned support): finish in float64 (model.polish).
        polished, violation, threshold = polish.polish(X, y, ivar, lam_v, theta, tol=tol, scale=sc.s)
        if violation <= threshold:
            theta, conv, kkt = polished, True, violation
            msg += f"; finished in float64 on the support (KKT {violation:.3g} <= {threshold:.3g})"
    obj = _objective(theta, X, y, ivar, lam_v, finite=True)
    if theta0 is not None:
        # float32 round-off can move a converged answer by ~1e-12 relative: never return worse
        # than the start (restarting from a fit's own answer must not raise the objective).
        start = _check_theta(theta0, d, "theta0").copy()
        obj0 = _objective(start, X, y, ivar, lam_v, finite=True)
        if obj0 <= obj:
            theta, obj = start, obj0
            msg += "; kept theta0 (no lower objective found)"
    return FitResult(
        theta=theta, objective=obj, n_iter=it, converged=conv,
        message=msg, zero_fraction=_zero_fraction(theta, penalized), kkt_violation=kkt,
        time=time.perf_counter() - t0, n_stars=n, burn_in=burn, history=hist,
    )


def _check_burn_in(burn_in, n):
    """The burn-in mask as a bool array of shape (n,); ValueError naming what is wrong."""
    burn_in = np.asarray(burn_in)
    if burn_in.shape != (n,) or burn_in.dtype != bool:
        raise ValueError(f"burn_in must be a boolean mask of shape ({n},) (one entry per training star); "
                         f"got dtype {burn_in.dtype}, shape {burn_in.shape}")
    return burn_in


def _zero_fraction(theta, penalized):
    return float(np.mean(theta[penalized] == 0.0)) if penalized.any() else float("nan")


def fit_path(X, y, ivar, penalized, lams, burn_in_snr=20.0, *, burn_in=None, tol=1e-7, theta0=None) -> dict:
    """Fit eq. 3 at every lambda of ``lams`` as a warm-started path: {lam: FitResult}.

    The lambdas are fitted from the largest down, each starting from the previous one's answer
    (the largest from ``theta0`` if given, else cold from the burn-in fit, as :func:`fit`). The
    objective is convex, so the start changes where the solver begins, not the optimum it stops
    at (to ``tol``); a larger lambda's answer is sparser and close to the next one's, so a
    warm fit needs a few proximal-Newton iterations on a small working set instead of a burn-in
    and a full descent. The scaled matrix and the model Hessian are shared between the lambdas
    (:func:`fit_grid`). The cross-validation grid runs as this path (model.cv_path, one train job
    per lambda chained in the DAG); benchmarks/cv_path.py times it.
    """
    grid = fit_grid(X, y, ivar, penalized, lams, [0.0], burn_in_snr, burn_in=burn_in, tol=tol, theta0=theta0)
    return {lam: result for (lam, _), result in grid.items()}


def fit_grid(X, y, ivar, penalized, lams, offsets, burn_in_snr=20.0, *, burn_in=None, tol=1e-7,
             theta0=None) -> dict:
    """Fit eq. 3 at every (lambda, offset) of ``lams`` x ``offsets`` on one X: {(lam, offset): FitResult}.

    y (N,) is the Gaia parallax without offset [mas]; each setting fits y + offset. The first
    offset's lambdas run from the largest down, each warm-started from the previous answer
    (:func:`fit_path`), the largest from ``theta0`` or cold (burn-in on ``burn_in``, else y +
    offset's S/N > ``burn_in_snr``); every later offset (in the given order) fits each lambda from
    the previous offset's answer at that lambda (an offset changes y only, by a few hundredths of a
    mas: the optimum moves little), the smallest lambda first, while the Hessian cache still holds
    the columns it needs. X is scaled once and the model Hessian (:class:`_Curvature`) is kept
    between all the fits; every fit still stops on its own KKT conditions over all columns, so each
    answer is the optimum a cold :func:`fit` reaches.

    Why the later offsets start from the same lambda (benchmarks/cv_path.py --design on the
    100,000-row mock, 2 x 12,714 / 12,842 x 7,414, 2026-12-07, idle): the second offset's lambda = 3
    fits took 6.1 / 5.3 s from the first offset's lambda = 3 against 8.9 / 8.4 s along their own
    path from lambda = 10, whose cache had been rebuilt for the larger lambdas; the whole grid
    44.8 s against 51.9 s.
    """
    t0 = time.perf_counter()
    X, y, ivar, penalized, _ = _check_inputs(X, y, ivar, penalized, 0.0)
    sc = _Scaled(X, penalized)
    shared = (sc, _Curvature(sc.Z))
    setup = time.perf_counter() - t0
    order = sorted({float(lam) for lam in np.atleast_1d(lams)}, reverse=True)
    offsets = [float(o) for o in np.atleast_1d(offsets)]
    results = {}
    for k, offset in enumerate(offsets):
        for i, lam in enumerate(order if k == 0 else order[::-1]):
            if k > 0:
                start = results[lam, offsets[k - 1]].theta
            else:
                start = theta0 if i == 0 else results[order[i - 1], offset].theta
            result = fit(X, y + offset, ivar, penalized, lam, burn_in_snr, theta0=start, burn_in=burn_in, tol=tol,
                         _shared=shared)
            result.time += setup  # the shared scaling is charged to the first fit
            setup = 0.0
            results[lam, offset] = result
    return results
