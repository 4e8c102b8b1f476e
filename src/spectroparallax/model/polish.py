"""A float64 finish for an exact-L1 fit that stalled at float32 precision (used by :mod:`.exp_linear`).

The proximal-Newton solver of :mod:`.exp_linear` works on a float32 copy of the design matrix, so its
gradients, steps and line search resolve the objective to about 1e-7 relative. On an ill-conditioned
support, e.g. the nearly collinear G, BP and RP with their large, cancelling coefficients, the last
digits of the optimality (KKT) conditions can then come one slow step at a time. On the 20,000-row
mocks the solver stopped after its 200 iterations at KKT violations 66 and 570 times its tolerance (seed
1234, fold A: lambda 100, objective settled to 1e-9; lambda 30 at the paper's offset, four pixels
still to enter), and the train jobs failed. The solver now rebuilds a stale Hessian when its steps
stall (:mod:`.exp_linear`), which converges those two fits in 73 and 44 iterations; this finish is
the fallback for a fit that still reaches its iteration limit.

:func:`polish` finishes such a fit in float64 as an active set: Newton steps on the support with the
signs held (the L1 term is linear there; a coefficient that would change sign stops at zero and
leaves), then the KKT conditions of every column; violators enter and the support is solved again.
The same KKT rule as the solver's decides whether the fit has converged. Reads and writes nothing:
plain functions on arrays.
"""

from __future__ import annotations

import numpy as np

#: Armijo constant of the backtracking line search.
_ARMIJO = 1e-4
#: Rows of X converted to float64 at a time for the full gradient (bounds the memory of X^T v).
_CHUNK_ROWS = 4096


def transposed_product(X, v) -> np.ndarray:
    """X^T v in float64 for a float32 (or float64) X, a block of rows at a time."""
    out = np.zeros(X.shape[1])
    for i in range(0, X.shape[0], _CHUNK_ROWS):
        out += np.asarray(X[i:i + _CHUNK_ROWS], dtype=np.float64).T @ v[i:i + _CHUNK_ROWS]
    return out


def kkt_violation(theta, g, lam_v, scale=None) -> np.ndarray:
    """Per-coefficient violation of the optimality conditions of 0.5 chi^2 + sum lam_j |theta_j|,
    given the gradient ``g`` of 0.5 chi^2. With ``scale`` (the column scales s_j of the solver's
    beta_j = s_j theta_j) it is divided by s_j, in the units of the solver's scaled problem, so
    that one tolerance fits every column."""
    v = np.where(theta > 0, np.abs(g + lam_v), np.where(theta < 0, np.abs(g - lam_v),
                                                         np.maximum(np.abs(g) - lam_v, 0.0)))
    return v if scale is None else v / scale


def polish(X, y, ivar, lam_v, theta, *, tol: float, scale, max_iter: int = 20, max_rounds: int = 10):
    """Finish a fit of 0.5 sum ivar (y - exp(X theta))^2 + sum lam_v |theta| from ``theta`` in float64.

    ``X`` (N, D), ``y``, ``ivar`` (N,), ``lam_v`` (D,) as in :func:`.exp_linear.fit`; ``scale`` (D,) the
    solver's column scales; ``tol`` its relative KKT tolerance: converged when every column's violation
    (:func:`kkt_violation`) is at most tol x sqrt(n sum_i (d chi^2/2 / d eta_i)^2), the solver's own rule.
    An active set: Newton on the support with the signs held (:func:`_newton_on_support`), then every
    column's KKT conditions in float64; columns off the support that violate them enter with the sign
    their gradient asks for, and the support is solved again, up to ``max_rounds`` times.
    Returns (theta float64 (D,), the largest violation, that threshold): converged if the first is at
    most the second. The objective never rises: the line search only accepts decreases.
    """
    theta = np.asarray(theta, dtype=np.float64).copy()
    y, w = np.asarray(y, dtype=np.float64), np.asarray(ivar, dtype=np.float64)
    n = y.size
    sign = np.sign(theta)
    for _ in range(max_rounds):
        theta, sign = _newton_on_support(X, y, w, lam_v, theta, sign, tol=tol, scale=scale, max_iter=max_iter)
        p = np.exp(linear_predictor(X, theta))
        gr = -w * (y - p) * p
        g = transposed_product(X, gr)
        viol = kkt_violation(theta, g, lam_v, scale)
        threshold = tol * np.sqrt(n * float(np.dot(gr, gr)))
        enter = (sign == 0) & (lam_v > 0) & (viol > threshold)
        if viol.max() <= threshold or not enter.any():
            break
        sign[enter] = -np.sign(g[enter])
    return theta, float(viol.max()), threshold


def _newton_on_support(X, y, w, lam_v, theta, sign, *, tol, scale, max_iter):
    """Newton steps on the columns with a sign (or no penalty), the L1 term linear with those signs.
    A coefficient that would cross zero stops there and leaves (its sign becomes 0). Returns
    (theta, sign)."""
    theta, sign = theta.copy(), sign.copy()
    S = np.flatnonzero((sign != 0) | (lam_v == 0))
    Xs = np.asarray(X[:, S], dtype=np.float64)
    th, lam_s, sg = theta[S], lam_v[S], sign[S]
    n = y.size

    def value(t):
        p = np.exp(Xs @ t)
        return 0.5 * float(np.dot(w * (y - p), y - p)) + float(np.dot(lam_s, np.abs(t)))

    for _ in range(max_iter):
        p = np.exp(Xs @ th)
        r = y - p
        gr = -w * r * p
        g = Xs.T @ gr + lam_s * sg
        if np.max(np.abs(g) / scale[S]) <= tol * np.sqrt(n * float(np.dot(gr, gr))):
            break
        h = np.maximum(w * (p * p - r * p), 0.0)      # exact curvature, floored at 0
        H = Xs.T @ (h[:, None] * Xs)
        H[np.diag_indices_from(H)] += 1e-12 * np.trace(H) / len(S)
        try:
            step = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            break
        cross = (lam_s > 0) & (np.sign(th + step) != sg)
        wrong = cross & (th == 0)       # entered at 0 but Newton takes it the other way: it leaves
        if wrong.any():
            keep = ~wrong
        else:
            t_max = float(np.min(-th[cross] / step[cross])) if cross.any() else 1.0
            t, f0, slope = t_max, value(th), float(np.dot(g, step))
            while t > 1e-12 and value(th + t * step) > f0 + _ARMIJO * t * slope:
                t *= 0.5
            if t <= 1e-12:
                break
            th = th + t * step
            if not (cross.any() and t == t_max):
                continue
            hit = np.flatnonzero(cross)[np.argmin(np.abs(th[cross]))]   # reached 0: it leaves
            th[hit] = 0.0
            keep = np.ones(S.size, bool)
            keep[hit] = False
        theta[S[~keep]], sign[S[~keep]] = 0.0, 0.0
        S, Xs, th, lam_s, sg = S[keep], Xs[:, keep], th[keep], lam_s[keep], sg[keep]
    theta[S] = th
    return theta, sign


def linear_predictor(X, theta, columns=None) -> np.ndarray:
    """X theta in float64, converting a float32 X one block of rows at a time (no full copy).

    columns: optional int array holding every index where theta is non-zero (a fit's own theta,
    most of whose pixels are exactly 0 at a large lambda; a NaN in a skipped column of X does not
    reach the result, so the caller must know X to be finite). Where they are at most 5 % of theta,
    only those columns are read: 8 against 43 ms at 1 % non-zero for the paper-size fold, but the
    column gather costs more than it saves from ~10 % (48 against 37 ms; ad hoc, 2026-12-07), so
    above that the full product is taken.
    """
    if columns is not None and columns.size > 0.05 * theta.size:
        columns = None
    if columns is not None:
        theta = theta[columns]
    if X.dtype == np.float64:
        return (X if columns is None else X[:, columns]) @ theta
    # ~1 MB float64 blocks stay in the CPU cache between the conversion and the product: 34 ms
    # against 74 ms with 32 MB blocks for 12,714 x 7,414 (2026-12-07)
    step = max(1, 2**20 // max(theta.size, 1))
    if columns is None:
        blocks = (X[i : i + step] for i in range(0, X.shape[0], step))
    else:
        blocks = (X[i : i + step, columns] for i in range(0, X.shape[0], step))
    return np.concatenate([np.asarray(b, dtype=np.float64) @ theta for b in blocks])
