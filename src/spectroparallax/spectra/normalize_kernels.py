"""Compiled pixel-wise steps of the continuum normalization (used by :mod:`spectroparallax.spectra.normalize`).

Deciding which pixels are masked is a per-pixel test followed by a growth of the mask to the
neighbours; written as whole-array numpy operations it took a dozen passes over every spectrum
(division, three tests, index lists for the growth, writes) and was most of the cost of the
normalization. These numba kernels do it in a few loops per star and chip, written without
branches where they run over every pixel so that they compile to vector instructions. The
least-squares normal equations are summed here too, per star and chip, from the weights
(:func:`_normal_sums`), and solved (:func:`solve_normal`).

The masking arithmetic follows the per-star reference
(:func:`spectroparallax.spectra.normalize.normalize_reference`) operation by operation: the continuum is
evaluated in float64 and rounded to float32, divisions and cuts are float32, inverse-variance
weights float64; fastmath stays off, so nothing is reordered (``error_model="numpy"`` only makes
a division by zero give inf or NaN, as numpy does, instead of raising). The one exception is
:func:`_normal_sums`, whose float64 sums of the normal equations may be reordered, as the BLAS
products they replaced were; the reference's own least squares (``Chebyshev.fit``) differs from
both at that level anyway, and the outputs agree to 0 ulp in the benchmark. The kernels are compiled
on first use (about 45 s of CPU on a busy 2-core machine, measured in a fresh process: 46.5 s, then
2.5 s with the cache) and cached on disk next to this file, in ``__pycache__`` (``cache=True``; numba
falls back to a per-user cache folder where that is not writable). :func:`announce_compilation`
says so on stderr before a compilation, so the first run is not a silent minute.

Shared arguments: flux, err float32 (n_stars, n_pixels); coef float64 (n_stars, n_chips, p)
Chebyshev coefficients of each star's continuum in each chip; basis float64 (p, n_pixels), the
Chebyshev polynomials at each pixel in its own chip's coordinate; chip_start, chip_stop int64
(n_chips,), each chip's pixel range; thr float32, the largest normalized uncertainty kept; grow,
the mask growth in pixels on each side; no_data float32, the uncertainty at or above which a
pixel holds no measurement (masked, but it does not mask its neighbours); an uncertainty of exactly
0 holds none either (aspcapStar gaps: flux 0, error 0).
"""

import sys

import numpy as np
from numba import njit

#: Positive float32 values are ordered as their bit patterns read as int32 are, so the kernels
#: take extrema of such values on the bits: integer min/max compiles to vector instructions,
#: float min/max (with its NaN rules) does not. This is the bit pattern of float32 +inf.
_INF_BITS = np.int32(np.array([np.inf], dtype=np.float32).view(np.int32)[0])


@njit(cache=True, error_model="numpy", inline="always")
def _usable(f, e):
    """The masking rules that need no continuum: finite flux, finite and positive error.

    Written with ``&`` rather than ``and`` so that loops calling it stay free of branches.
    """
    return (abs(f) < np.inf) & (abs(e) < np.inf) & (e > 0)


@njit(cache=True, error_model="numpy", inline="always")
def _divided(f, e, c, thr):
    """One pixel divided by its continuum ``c``: (flux, error, 1 if the result is unusable:
    non-finite flux, error not in (0, thr])."""
    fo = f / c
    eo = e / c
    return fo, eo, np.uint8(1) - np.uint8((abs(fo) < np.inf) & (eo > 0) & (eo <= thr))


@njit(cache=True, error_model="numpy")
def _median_level(flux, err, i, cont, a, b, buf):
    """Median of star i's usable, positive flux at the continuum pixels cont[a:b] (float32).

    As ``np.median`` computes it for float32 (the mean of the two middle values in float32);
    0 where there is no such pixel (then every pixel fails the first pass's error cut).
    """
    m = 0
    for j in range(a, b):
        f, e = flux[i, cont[j]], err[i, cont[j]]
        if _usable(f, e) & (f > 0):
            buf[m] = f
            m += 1
    if m == 0:
        return np.float32(0)
    part = np.partition(buf[:m], m // 2)
    upper = part[m // 2]
    lower = upper if m % 2 else part[:m // 2].max()
    return np.float32(0.5) * (lower + upper)


@njit(cache=True, error_model="numpy")
def _touch(row, start, stop):
    """Read row[start:stop] once per 64-byte cache line (float32), so that those lines are fetched
    from memory together, and return the sum (only so that the reads are not optimized away).

    fit_weights calls it on the next star's flux and err before working on the current one: its
    copies then read the lines from cache. The sum's additions are ordered (no fastmath), which
    keeps the loop scalar: vectorized, these strided reads become gathers, which were slower.
    """
    acc = np.float32(0)
    for q in range(start - start % 16, stop, 16):
        acc += row[q]
    return acc


@njit(cache=True, error_model="numpy")
def _continuum(coef, i, k, basis, q):
    """float32 continuum of star i in chip k at pixel q (float64 sum, then rounded)."""
    c = 0.0
    for m in range(coef.shape[2]):
        c += coef[i, k, m] * basis[m, q]
    return np.float32(c)


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _normal_sums(w_inv, w_flux, outer_t, cont_t, r0, triangle, rhs):
    """One star's and chip's normal equations from its weights at the chip's relevant pixels
    (w_inv, w_flux float64 (n,), rel places r0 .. r0 + n): triangle[t] = sum w_inv outer_t[t],
    rhs[m] = sum w_flux cont_t[m]. The only kernel whose sums may be reordered (so that they run in
    vector registers): float64 sums of a few thousand terms, as the matrix products were."""
    n = w_inv.shape[0]
    if cont_t.shape[0] == 3:
        # degree 2 (T_0 = 1): the nine sums in one pass over the weights and T_1, T_2 alone, which
        # stay in the L1 cache (the six products of outer_t are twice the data)
        x1, x2 = cont_t[1, r0:r0 + n], cont_t[2, r0:r0 + n]
        t00 = t01 = t02 = t11 = t12 = t22 = b0 = b1 = b2 = 0.0
        for q in range(n):
            w, wf, a, b = w_inv[q], w_flux[q], x1[q], x2[q]
            wa, wb = w * a, w * b
            t00 += w
            t01 += wa
            t02 += wb
            t11 += wa * a
            t12 += wa * b
            t22 += wb * b
            b0 += wf
            b1 += wf * a
            b2 += wf * b
        triangle[0], triangle[1], triangle[2], triangle[3], triangle[4], triangle[5] = t00, t01, t02, t11, t12, t22
        rhs[0], rhs[1], rhs[2] = b0, b1, b2
        return
    for weights, design, out in ((w_inv, outer_t, triangle), (w_flux, cont_t, rhs)):
        for t in range(design.shape[0]):
            row = design[t, r0:r0 + n]
            acc = 0.0
            for q in range(n):
                acc += weights[q] * row[q]
            out[t] = acc


@njit(cache=True, error_model="numpy")
def fit_weights(flux, err, coef, flat, basis, rel, rel_bounds, rel_cont, rel_runs, rel_run_bounds, cont,
                cont_bounds, adjacent, grow, thr, no_data, weights, count, margins, refit, outer_t, cont_t,
                triangle, rhs):
    """Inverse-variance weights of the continuum pixels that a fit may use.

    The error cut is made against a flat continuum at the median of the chip's usable, positive
    continuum-pixel fluxes if ``flat`` (pass 1), else against the continuum ``coef`` (pass 2).
    A continuum pixel is used unless it fails the rules itself or a pixel within ``grow`` of it
    in the same chip fails them and holds data. Per star and chip it writes the weights into
    the scratch weights float64 (2, n_rel), a column per relevant pixel (below): 1 / err^2 at the
    used continuum pixels and 0 elsewhere in row 0, those times the flux in row 1; from them the
    normal equations of the weighted least-squares fit (:func:`_normal_sums`): triangle float64
    (n_stars, n_chips, p (p + 1) / 2), the upper triangle of the normal matrix, the weights times
    outer_t float64 (p (p + 1) / 2, n_rel) (products T_a T_b of the basis at the relevant pixels),
    and rhs float64 (n_stars, n_chips, p), the flux weights times cont_t float64 (p, n_rel) (the
    basis there); and count int64 (n_stars, n_chips), the used pixels.

    Only the "relevant" pixels decide a weight: the continuum pixels and their neighbours within
    ``grow`` in the same chip, about a third of a chip's pixels. rel int64 (n_rel,) lists them in
    order, chip k's are rel[rel_bounds[k]:rel_bounds[k + 1]]; rel_cont uint8 (n_rel,) is 1 at the
    continuum pixels; cont int64 (n_cont,) the continuum pixels, chip k's cont[cont_bounds[k]:
    cont_bounds[k + 1]]; adjacent uint8 (2 grow, n_rel): row 2d - 2 (2d - 1) is 1 where the
    place d before (after) a pixel in rel holds the pixel d before (after) it in the same chip,
    which is so for every neighbour of a continuum pixel within grow in its chip. Each star's
    relevant pixels are first copied into short contiguous buffers, so that the loops over them compile to vector
    instructions. The copies go by runs of consecutive pixels, rel_runs int64 (3, n_runs): first
    pixel, first place in rel, length (chip k's runs rel_run_bounds[k]:rel_run_bounds[k + 1]).
    Not element by element: LLVM makes such a loop of float
    loads through an index array into vector gathers, which are slow on AMD processors (the
    kernel took twice as long).

    margins float32 (n_stars, n_chips, 2): pass 1 writes the largest err of a usable relevant
    pixel that passed the cut and the smallest err of one that failed. Pass 2 reads them: where
    thr times a lower bound of the new continuum is at least the first and thr times an upper
    bound is below the second, every relevant pixel is decided as in pass 1, so its normal
    equations and count are left as they are and ``refit`` (bool (n_stars, n_chips), written by pass 2) is False;
    likewise for chips that pass 1 could not fit (coef all 0), which stay failed.

    The exact continuum is needed only for a pixel whose err lies between thr times a lower and
    an upper bound of the continuum over the chip (pass 1: the smallest and largest of those
    fluxes; pass 2: a_0 -+ sum |a_k|, as |T_k| <= 1, widened far beyond float64 rounding); float32
    rounding and multiplication are monotonic, so outside the bounds the cut is decided. A first,
    vectorized loop classifies the pixels as passing, failing or undecided; the few undecided ones
    are then settled with the exact continuum.
    """
    n = flux.shape[0]
    n_rel = rel.size
    buf = np.empty(cont.size, dtype=np.float32)
    # Copied flux and err of one star's relevant pixels; state: 1 passes the rules, 0 fails,
    # 2 undecided; seed_pad: the chip's seeds (1: fails and holds data) after `grow` zeros, which
    # a neighbour before the chip reads (one after its end reads whatever a wider chip left there,
    # but only where ``adjacent`` is 0); good_rel: a continuum pixel the fit uses.
    f_rel = np.empty(n_rel, dtype=np.float32)
    e_rel = np.empty(n_rel, dtype=np.float32)
    state = np.zeros(n_rel, dtype=np.uint8)
    width = (rel_bounds[1:] - rel_bounds[:-1]).max()
    seed_pad = np.zeros(width + 2 * grow, dtype=np.uint8)
    good_rel = np.empty(n_rel, dtype=np.uint8)
    bits = np.zeros(2, dtype=np.int32)
    values = bits.view(np.float32)
    sink = np.zeros(1, dtype=np.float32)
    for i in range(n):
        if flat and i + 1 < n:  # pass 1 reads each spectrum from memory: request the next one's lines now
            sink[0] += _touch(flux[i + 1], rel[0], rel[-1] + 1) + _touch(err[i + 1], rel[0], rel[-1] + 1)
        for k in range(rel_bounds.size - 1):
            r0, r1 = rel_bounds[k], rel_bounds[k + 1]
            if not flat:
                refit[i, k] = False
                spread = 0.0
                for m in range(1, coef.shape[2]):
                    spread += abs(coef[i, k, m])
                if coef[i, k, 0] == 0 and spread == 0:
                    continue  # pass 1 failed: so does pass 2
                pad = 1e-6 * (abs(coef[i, k, 0]) + spread)
                lo, hi = coef[i, k, 0] - spread - pad, coef[i, k, 0] + spread + pad
                if thr * np.float32(lo) >= margins[i, k, 0] and thr * np.float32(hi) < margins[i, k, 1]:
                    continue
                refit[i, k] = True
            for r in range(rel_run_bounds[k], rel_run_bounds[k + 1]):
                f_src = flux[i, rel_runs[0, r]:rel_runs[0, r] + rel_runs[2, r]]
                e_src = err[i, rel_runs[0, r]:rel_runs[0, r] + rel_runs[2, r]]
                f_dst = f_rel[rel_runs[1, r]:rel_runs[1, r] + rel_runs[2, r]]
                e_dst = e_rel[rel_runs[1, r]:rel_runs[1, r] + rel_runs[2, r]]
                for q in range(rel_runs[2, r]):
                    f_dst[q] = f_src[q]
                    e_dst[q] = e_src[q]
            f_in, e_in, c_in = f_rel[r0:r1], e_rel[r0:r1], rel_cont[r0:r1]
            s_in = state[r0:r1]
            seed_in = seed_pad[grow:grow + r1 - r0]  # this chip's seeds, `grow` zeros before them
            if flat:
                # Extrema of the usable, positive continuum-pixel fluxes, on their bit patterns.
                f_bits = f_in.view(np.int32)
                lo_bits, hi_bits = _INF_BITS, np.int32(0)
                for q in range(r1 - r0):
                    f, e = f_in[q], e_in[q]
                    valid = (c_in[q] != 0) & _usable(f, e) & (f > 0)
                    lo_bits = min(lo_bits, f_bits[q] if valid else _INF_BITS)
                    hi_bits = max(hi_bits, f_bits[q] if valid else np.int32(0))
                bits[0], bits[1] = lo_bits, hi_bits
                lo, hi = np.float64(values[0]), np.float64(values[1])
                if lo > hi:  # no such pixel: the level is 0
                    lo, hi = 0.0, 0.0
                level = np.float32(-1.0)  # computed when first needed
            under_lo, under_hi = thr * np.float32(lo), thr * np.float32(hi)
            # The cut, and with it the seeds of the growth and the margins (extrema of positive
            # float32 values, on their bit patterns), which are final unless a pixel is undecided.
            e_bits = e_in.view(np.int32)
            passed_max, failed_min = np.int32(0), _INF_BITS
            n_undecided = 0
            for q in range(r1 - r0):
                f, e = f_in[q], e_in[q]
                usable = _usable(f, e)
                sure = usable & (e <= under_lo)
                undecided = usable & (e > under_lo) & (e <= under_hi)
                s_in[q] = np.uint8(sure) + np.uint8(2) * np.uint8(undecided)
                n_undecided += np.int64(undecided)
                # a NaN error is bad data, not "no data": it seeds growth
                seed_in[q] = np.uint8(not sure) & (np.uint8(1) - np.uint8((e >= no_data) | (e == 0)))
                passed_max = max(passed_max, e_bits[q] if sure else np.int32(0))
                failed_min = min(failed_min, e_bits[q] if usable & (not sure) else _INF_BITS)
            if n_undecided:
                for q in range(r1 - r0):
                    if s_in[q] == 2:
                        if flat:
                            if level < 0:
                                level = _median_level(flux, err, i, cont, cont_bounds[k], cont_bounds[k + 1], buf)
                            c = level
                        else:
                            c = _continuum(coef, i, k, basis, rel[r0 + q])
                        s_in[q] = np.uint8(e_in[q] <= thr * c)
                passed_max, failed_min = np.int32(0), _INF_BITS
                for q in range(r1 - r0):
                    f, e = f_in[q], e_in[q]
                    passed = s_in[q] == 1
                    usable = _usable(f, e)
                    seed_in[q] = np.uint8(not passed) & (np.uint8(1) - np.uint8((e >= no_data) | (e == 0)))
                    passed_max = max(passed_max, e_bits[q] if passed else np.int32(0))
                    failed_min = min(failed_min, e_bits[q] if usable & (not passed) else _INF_BITS)
            if flat:
                bits[0], bits[1] = passed_max, failed_min
                margins[i, k, 0], margins[i, k, 1] = values[0], values[1]
            # Which continuum pixels are used (the neighbours of a continuum pixel are its
            # neighbours in rel, where ``adjacent`` says so), then their weights: two loops, as
            # one loop reading all these arrays and writing the weights compiled to scalar code
            # (one division at a time; the kernel's first pass took 1.3x as long).
            g_rel = good_rel[r0:r1]
            if grow == 1:  # the usual growth, in one loop
                left, right = adjacent[0, r0:r1], adjacent[1, r0:r1]
                for q in range(r1 - r0):
                    g_rel[q] = (c_in[q] & np.uint8(s_in[q] == 1) & (np.uint8(1) - (seed_pad[q] & left[q]))
                                & (np.uint8(1) - (seed_pad[q + 2] & right[q])))
            else:
                for q in range(r1 - r0):
                    g_rel[q] = c_in[q] & np.uint8(s_in[q] == 1)
                for d in range(1, grow + 1):
                    left, right = adjacent[2 * d - 2, r0:r1], adjacent[2 * d - 1, r0:r1]
                    for q in range(r1 - r0):
                        g_rel[q] &= np.uint8(1) - ((seed_pad[grow + q - d] & left[q]) | (seed_pad[grow + q + d] & right[q]))
            w_inv, w_flux = weights[0, r0:r1], weights[1, r0:r1]
            used = 0
            for q in range(r1 - r0):
                e = np.float64(e_in[q])
                inv_var = 1.0 / (e * e)
                good = g_rel[q] != 0
                w_inv[q] = inv_var if good else 0.0
                w_flux[q] = inv_var * np.float64(f_in[q]) if good else 0.0
                used += np.int64(good)
            count[i, k] = used
            _normal_sums(w_inv, w_flux, outer_t, cont_t, r0, triangle[i, k], rhs[i, k])


@njit(cache=True, error_model="numpy")
def divide(flux, err, coef, fit_ok, basis, chip_start, chip_stop, thr, grow, no_data, bad_pixel_error,
           out_flux, out_err, nonpositive, n_masked):
    """Divide each star's chips by their continuum and mask by the rules, writing out_flux, out_err.

    fit_ok bool (n_stars, n_chips): chips without a fit are masked whole. A fitted chip whose
    continuum is not positive everywhere is masked whole too and flagged in ``nonpositive``
    (bool, same shape). The pixels outside the chips (chip_start, chip_stop sorted, not
    overlapping) are masked. Adds each star's masked pixels to n_masked int64 (n_stars,).
    Masked pixels get flux 1 and uncertainty ``bad_pixel_error``. The loops over all of a chip's
    pixels are kept free of branches so that they compile to vector instructions; the mask is
    then grown from the bad pixels only.
    """
    width = (chip_stop - chip_start).max()
    acc = np.empty(width)
    continuum = np.empty(width, dtype=np.float32)
    bad = np.zeros(8 * (width // 8 + 1), dtype=np.uint8)
    words = bad.view(np.uint64)
    masked = np.empty(width, dtype=np.uint8)
    p = coef.shape[2]
    n_pixels = flux.shape[1]
    for i in range(flux.shape[0]):
        # The pixels outside the chips, written here rather than as columns of the whole output
        # (strided writes, the row's cache lines fetched a second time); one array per loop, on
        # views from 0, which compiles to vector stores (two arrays in one loop did not).
        f_row, e_row = out_flux[i], out_err[i]
        edge = 0
        for k in range(chip_start.size + 1):
            until = chip_start[k] if k < chip_start.size else n_pixels
            f_gap, e_gap = f_row[edge:until], e_row[edge:until]
            for q in range(f_gap.size):
                f_gap[q] = 1.0
            for q in range(e_gap.size):
                e_gap[q] = bad_pixel_error
            n_masked[i] += max(until - edge, 0)
            if k < chip_start.size:
                edge = chip_stop[k]
        for k in range(chip_start.size):
            start, stop = chip_start[k], chip_stop[k]
            w = stop - start
            # Row views indexed from 0: numba can then drop its negative-index checks.
            f_in, e_in = flux[i, start:stop], err[i, start:stop]
            f_out, e_out = out_flux[i, start:stop], out_err[i, start:stop]
            failed = not fit_ok[i, k]
            if not failed:
                # sum_m a_m T_m in float64, in the order m = 0, 1, ..., rounded to float32
                a_0, x = coef[i, k, 0], basis[1, start:stop] if p > 1 else basis[0, start:stop]
                # The usual quadratic in one loop (T_0 = 1, T_1 = x, T_2 = 2x^2 - 1, as chebvander
                # computes it), faster than the general loops below.
                n_nonpositive = 0
                if p == 3:  # continuum and division in one loop
                    a_1, a_2 = coef[i, k, 1], coef[i, k, 2]
                    for q in range(w):
                        c = np.float32((a_0 + a_1 * x[q]) + a_2 * (x[q] * (2.0 * x[q]) - 1.0))
                        f_out[q], e_out[q], bad[q] = _divided(f_in[q], e_in[q], c, thr)
                        n_nonpositive += np.int64(c <= 0)
                else:
                    b_0 = basis[0, start:stop]
                    for q in range(w):
                        acc[q] = a_0 * b_0[q]
                    for m in range(1, p):
                        b_m = basis[m, start:stop]
                        a_m = coef[i, k, m]
                        for q in range(w):
                            acc[q] += a_m * b_m[q]
                    for q in range(w):
                        continuum[q] = np.float32(acc[q])
                    for q in range(w):
                        c = continuum[q]
                        f_out[q], e_out[q], bad[q] = _divided(f_in[q], e_in[q], c, thr)
                        n_nonpositive += np.int64(c <= 0)
                if n_nonpositive:
                    nonpositive[i, k] = True
                    failed = True
            if failed:
                f_out[:] = 1.0
                e_out[:] = bad_pixel_error
                n_masked[i] += w
                continue
            # The few bad pixels, found eight flags at a time (bad is zero-padded to whole words),
            # and the neighbours of those that hold data.
            bad[w:] = 0
            masked[:w] = 0
            for word in range(words.size):
                if words[word] == 0:
                    continue
                for q in range(8 * word, min(8 * word + 8, w)):
                    if not bad[q]:
                        continue
                    r0, r1 = q, q + 1
                    if not (e_in[q] >= no_data or e_in[q] == 0):
                        r0, r1 = max(q - grow, 0), min(q + grow + 1, w)
                    for r in range(r0, r1):
                        if not masked[r]:
                            masked[r] = 1
                            f_out[r] = 1.0
                            e_out[r] = bad_pixel_error
                            n_masked[i] += 1


@njit(cache=True, error_model="numpy")
def solve_normal(triangle, rhs, symmetric, ok, coef):
    """Solve every star's and chip's weighted least-squares normal equations for its coefficients.

    triangle float64 (n_stars, n_chips, p (p + 1) / 2): the upper triangle of each symmetric
    normal matrix; symmetric int64 (p * p,): for each entry (a, b), row-major, its place in the
    triangle; rhs float64 (n_stars, n_chips, p). Writes coef float64 (n_stars, n_chips, p) by
    Gaussian elimination with partial pivoting in float64 (the method of LAPACK's gesv, which
    numpy's solve called, not its order of operations: the coefficients agree to rounding); where ok
    (bool (n_stars, n_chips)) is False, or the solution is not finite (a zero pivot), coef is 0
    and ok is set False. One compiled loop: numpy's batched solve and the calls around it cost
    as much as the matrix products that build the systems (about 60 us a block of 32 stars).
    """
    p = rhs.shape[2]
    a = np.empty((p, p))
    x = np.empty(p)
    for i in range(rhs.shape[0]):
        for k in range(rhs.shape[1]):
            if ok[i, k]:
                for r in range(p):
                    x[r] = rhs[i, k, r]
                    for c in range(p):
                        a[r, c] = triangle[i, k, symmetric[r * p + c]]
                for c in range(p):
                    best = c
                    for r in range(c + 1, p):
                        if abs(a[r, c]) > abs(a[best, c]):
                            best = r
                    if best != c:
                        for m in range(p):
                            a[c, m], a[best, m] = a[best, m], a[c, m]
                        x[c], x[best] = x[best], x[c]
                    for r in range(c + 1, p):
                        factor = a[r, c] / a[c, c]
                        for m in range(c + 1, p):
                            a[r, m] -= factor * a[c, m]
                        x[r] -= factor * x[c]
                finite = True
                for r in range(p - 1, -1, -1):
                    acc = x[r]
                    for m in range(r + 1, p):
                        acc -= a[r, m] * x[m]
                    x[r] = acc / a[r, r]
                    finite = finite & (abs(x[r]) < np.inf)
                ok[i, k] = finite
            for r in range(p):
                coef[i, k, r] = x[r] if ok[i, k] else 0.0


_announced = False


def _cached(kernel) -> bool:
    """Whether numba's on-disk cache holds compiled code of ``kernel`` for its current source.
    numba has no public call for this: its cache index is read (False if that fails)."""
    try:
        return bool(kernel._cache._cache_file._load_index())
    except Exception:   # a numba without this internal: assume a compilation
        return False


def announce_compilation(file=None) -> None:
    """Print once per process, before the first use, that the kernels are being compiled, unless
    the on-disk cache already holds them. ``file``: where to print (default stderr)."""
    global _announced
    if _announced:
        return
    _announced = True
    if not all(_cached(k) for k in (fit_weights, divide, solve_normal)):
        print("spectroparallax: compiling the normalization kernels (numba), ~1 min the first time; "
              f"cached in {fit_weights._cache._cache_path} for later runs", file=file or sys.stderr, flush=True)
