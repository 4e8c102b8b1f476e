"""A float64 finish for an exact-L1 fit that stalled at float32 precision (used by :mod:`.exp_linear`).

The proximal-Newton solver of :mod:`.exp_linear` works on a float32 copy of the design matrix, so its
gradients, steps and line search resolve the objective to about 1e-7 relative. On an ill-conditioned
support, e.g. the nearly collinear G, BP and RP with their large, cancelling coefficients, the last
digits of the optimality (KKT) conditions then come one slow step at a time: on a 20,000-row mock
(seed 1234, held-out fold A, lambda 100, offset 0.048) it stopped after its 200 iterations at a KKT
violation 66 times its tolerance with the objective already settled to 1e-9, and the train job failed.

:func:`polish` finishes such a fit in float64: Newton steps on the support with the signs held (the L1
term is linear there; a coefficient that would change sign stops at zero and leaves the support), then
the KKT conditions of every column, in float64, decide whether the fit has converged. Reads and writes
nothing: plain functions on arrays.
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


def kkt_violation(theta, g, lam_v, scale) -> np.ndarray:
    """Per-coefficient violation of the optimality conditions of 0.5 chi^2 + sum lam_j |theta_j|,
    given the gradient ``g`` of 0.5 chi^2, in the units of the solver's scaled problem (divided by
    ``scale``, the column scales s_j of beta_j = s_j theta_j), so that one tolerance fits every column."""
    v = np.where(theta > 0, np.abs(g + lam_v), np.where(theta < 0, np.abs(g - lam_v),
                                                         np.maximum(np.abs(g) - lam_v, 0.0)))
    return v / scale


def polish(X, y, ivar, lam_v, theta, *, tol: float, scale, max_iter: int = 20):
    """Finish a fit of 0.5 sum ivar (y - exp(X theta))^2 + sum lam_v |theta| from ``theta`` in float64.

    ``X`` (N, D), ``y``, ``ivar`` (N,), ``lam_v`` (D,) as in :func:`.exp_linear.fit`; ``scale`` (D,) the
    solver's column scales; ``tol`` its relative KKT tolerance: converged when every column's violation
    (:func:`kkt_violation`) is at most tol x sqrt(n sum_i (d chi^2/2 / d eta_i)^2), the solver's own rule.
    Returns (theta float64 (D,), the largest violation, that threshold): converged if the first is at
    most the second. The objective never rises: the line search only accepts decreases.
    """
    theta = np.asarray(theta, dtype=np.float64).copy()
    y, w = np.asarray(y, dtype=np.float64), np.asarray(ivar, dtype=np.float64)
    S = np.flatnonzero((theta != 0) | (lam_v == 0))
    Xs = np.asarray(X[:, S], dtype=np.float64)
    th, lam_s = theta[S], lam_v[S]
    sign = np.sign(th)
    n = y.size

    def value(t):
        p = np.exp(Xs @ t)
        return 0.5 * float(np.dot(w * (y - p), y - p)) + float(np.dot(lam_s, np.abs(t)))

    for _ in range(max_iter):
        p = np.exp(Xs @ th)
        r = y - p
        gr = -w * r * p
        g = Xs.T @ gr + lam_s * sign
        threshold = tol * np.sqrt(n * float(np.dot(gr, gr)))
        if np.max(np.abs(g) / scale[S]) <= threshold:
            break
        h = np.maximum(w * (p * p - r * p), 0.0)      # exact curvature, floored at 0
        H = Xs.T @ (h[:, None] * Xs)
        H[np.diag_indices_from(H)] += 1e-12 * np.trace(H) / len(S)
        try:
            step = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            break
        cross = (lam_s > 0) & (np.sign(th + step) != sign)
        t_max = float(np.min(-th[cross] / step[cross])) if cross.any() else 1.0
        t, f0, slope = t_max, value(th), float(np.dot(g, step))
        while t > 1e-12 and value(th + t * step) > f0 + _ARMIJO * t * slope:
            t *= 0.5
        if t <= 1e-12:
            break
        th = th + t * step
        if cross.any() and t == t_max:                 # a coefficient reached 0: it leaves the support
            th[np.flatnonzero(cross)[np.argmin(np.abs(th[cross]))]] = 0.0
            keep = (th != 0) | (lam_s == 0)
            theta[S[~keep]] = 0.0
            S, Xs, th, lam_s, sign = S[keep], Xs[:, keep], th[keep], lam_s[keep], sign[keep]
    theta[S] = th
    p = np.exp(linear_predictor(X, theta))
    gr = -w * (y - p) * p
    viol = kkt_violation(theta, transposed_product(X, gr), lam_v, scale)
    return theta, float(viol.max()), tol * np.sqrt(n * float(np.dot(gr, gr)))


def linear_predictor(X, theta) -> np.ndarray:
    """X theta in float64, a block of rows at a time."""
    out = np.empty(X.shape[0])
    for i in range(0, X.shape[0], _CHUNK_ROWS):
        out[i:i + _CHUNK_ROWS] = np.asarray(X[i:i + _CHUNK_ROWS], dtype=np.float64) @ theta
    return out
