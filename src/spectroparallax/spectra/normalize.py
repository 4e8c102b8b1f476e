"""Pseudo-continuum normalization of APOGEE spectra and selection of well-covered pixels.

HER19 sec. 4 normalizes the spectra "according to the procedure developed in The Cannon (Ness et
al. 2015)": per star and per detector chip, a smooth function is fitted to a fixed list of
continuum pixels (chosen to be insensitive to stellar parameters) and the spectrum is divided by it.
Here the smooth function is a Chebyshev polynomial in wavelength (each chip's wavelength range
mapped onto [-1, 1]) fitted by inverse-variance weighted least squares.

Which pixels are bad (masked): non-finite flux, non-finite or non-positive uncertainty, a
normalized uncertainty above ``max_normalized_error``; the mask then grows by ``grow`` pixels on
each side within the chip. The growth spreads only from pixels that had a measurement: a pixel
that holds no measurement is masked but does not mask its neighbours: an uncertainty of exactly 0
(aspcapStar files mark their gaps with flux 0 and error 0 in every release: shared/data/sas_layout.md
sec. 5) or at least the apStar files' placeholder ``NO_DATA_ERROR`` (1e10, with flux 0: chip gaps,
the dead first and last pixels of a chip, pixels no visit covered). Its neighbours are real
measurements, judged by their own uncertainties. Pixels outside every chip, and every pixel of a chip whose continuum could not
be fitted, are masked too. A masked pixel gets flux 1 and uncertainty ``bad_pixel_error`` (chosen
far above any good pixel's, so its inverse variance is effectively zero) and never counts in a fit.

The mask and the fit depend on each other (the error cut needs a continuum), so the fit runs in
two passes, each using only the continuum pixels that the masking rules leave:

1. rules applied with a flat continuum at the chip's median flux over its usable continuum
   pixels, which is robust to single wild pixels;
2. rules applied with the first-pass continuum (cutting on the continuum rather than on the pixel's
   own noisy flux avoids preferentially dropping low pixels, which would bias the continuum up).

The final mask is then computed with the final continuum. Stars are processed in blocks of
``_BLOCK``. The per-pixel work (the rules, the mask growth, the division) is done by the compiled
kernels of :mod:`spectroparallax.spectra.normalize_kernels`, a few loops per star and chip; the fit's
masking looks only at the continuum pixels and their neighbours within the growth (about a third
of a chip), the only pixels that decide which continuum pixels a fit uses. The fits are batched
linear algebra: for every star and chip, the kernel sums its inverse-variance weights (0 off the
used continuum pixels) times products of the Chebyshev basis into the upper triangle of the
symmetric normal matrix, and the block's (degree + 1) x (degree + 1) systems are solved together.

The paper's own normalization (``mode: paper``; normalize_all_spectra.py @ ee877c7,
``NormalizeData``) differs in two switches of :mod:`spectroparallax.modes`, each a keyword of
:func:`normalize` (``"improved"``, the default, is everything above):

``continuum_fit="paper"``: one pass, no masking before the fit. Pixels with non-finite flux or a
non-finite or non-positive error are first set to flux 1 and error ``PAPER_LARGE_ERROR`` (3, in the
file's units). Every pixel of a chip enters the fit, with ``ivar = 1 / (sigma^2 + v)``, v = 0 at the
continuum pixels and ``PAPER_LARGE_ERROR**2`` = 9 elsewhere, passed as numpy's
``Chebyshev.fit(..., w=ivar)``; numpy multiplies the residuals by w, so the least-squares weights
are ivar^2 = 1 / sigma^4 at the continuum pixels. The paper evaluates each star's fit on star 0's
wavelength grid; every spectrum here is on the one APOGEE grid, so that is every star's own. The fit
never fails: every chip is FIT_OK.

``masking="paper"``: the same replacement of bad input pixels by (1, 3), then the division by the
continuum; a pixel with normalized error > ``PAPER_MAX_NORMALIZED_ERROR`` (0.3) gets flux 1 and error
``PAPER_LARGE_ERROR``; then every pixel with a non-finite flux, a non-finite or non-positive error
or an error > ``PAPER_MASK_ERROR`` (1) is masked (flux 1, error 3) together with its neighbour on
each side, over the whole 8575-pixel row: pixels outside the chips hold error 3, so each chip's
first and last pixel are masked too, and no-data pixels grow the mask like any other. A chip
with a non-positive continuum is not masked whole: its pixels fail the error rules one by one.
This path is plain numpy in float64 (the paper's precision), rounded to float32 at the end.
"""

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from astropy.table import Table
from numpy.polynomial import Chebyshev, chebyshev

from spectroparallax.spectra import apogee_grid
from spectroparallax.io.npy_rows import npy_row_writer, read_npy_rows
from spectroparallax.spectra.read import READ_OK, read_spectra

#: Uncertainty at or above which a pixel holds no measurement: the APOGEE pipeline's apStar placeholder
#: (BADERR) in chip gaps, dead chip edges and pixels without any good visit (flux 0 there). An
#: uncertainty of exactly 0 means no measurement too (the aspcapStar files' gaps: flux 0, error 0).
NO_DATA_ERROR = 1e10

#: Stars processed together: enough to amortize the per-call overhead of the solves, few enough
#: that a block's spectra stay in the CPU cache between the passes (32 x 8575 float32 = 1.1 MB
#: per array). The speed benchmark's timings hardly depend on it between 8 and 64.
_BLOCK = 32

#: The paper's constants (normalize_all_spectra.py @ ee877c7, NormalizeData): ``LARGE = 3.0  #
#: magic LARGE sigma value``, the error of bad and masked pixels, whose square is added to the
#: variance of non-continuum pixels in the fit (``var_array``);
PAPER_LARGE_ERROR = 3.0
#: ``bad = dataall_flat[:, jj, 2] > 0.3 # MAGIC``: such pixels get flux 1 and error LARGE;
PAPER_MAX_NORMALIZED_ERROR = 0.3
#: ``dataall_flat[:, jj, 2] > 1.  # magic 1.``: the pixels masked and grown by one pixel each side.
PAPER_MASK_ERROR = 1.0
#: The two values of the continuum_fit and masking switches (spectroparallax.modes).
SWITCH_VALUES = ("paper", "improved")

#: Per-star, per-chip outcomes of the continuum fit.
FIT_OK = "ok"
FIT_TOO_FEW = "too_few_continuum_pixels"
FIT_NONPOSITIVE = "nonpositive_continuum"
FIT_NOT_READ = "not_read"


@dataclass(frozen=True)
class Normalized:
    """Result of :func:`normalize` for n stars.

    flux, err: float32 (n, 8575), normalized flux and uncertainty (dimensionless); masked pixels
        hold 1 and ``bad_pixel_error``.
    chip_status: str (n, 3), one of FIT_OK, FIT_TOO_FEW, FIT_NONPOSITIVE per star and chip.
    n_fit_pixels: int (n, 3), continuum pixels used in the final fit of each star and chip.
    n_masked: int (n,), masked pixels of each star (the chip gaps included).
    bad_pixel_error: float32, the uncertainty of masked pixels.
    """

    flux: np.ndarray
    err: np.ndarray
    chip_status: np.ndarray
    n_fit_pixels: np.ndarray
    n_masked: np.ndarray
    bad_pixel_error: np.float32

    @property
    def mask(self) -> np.ndarray:
        """bool (n, 8575), True where the pixel is masked.

        Exactly the pixels whose uncertainty is ``bad_pixel_error``: every other pixel has a
        normalized uncertainty of at most ``max_normalized_error``, which is smaller.
        """
        return self.err == self.bad_pixel_error


@dataclass(frozen=True)
class _Geometry:
    """Fixed geometry of the three chips for a given Chebyshev degree (arrays as the kernels take them)."""

    chip_start: np.ndarray  # int64 (n_chips,), first pixel of each chip
    chip_stop: np.ndarray  # int64 (n_chips,), one past its last pixel
    basis: np.ndarray  # float64 (degree + 1, 8575), Chebyshev basis in each pixel's chip coordinate
    cont: np.ndarray  # int64 (n_cont,), the continuum pixels inside the chips, chip by chip
    cont_bounds: np.ndarray  # int64 (n_chips + 1,), chip k's are cont[cont_bounds[k]:cont_bounds[k + 1]]
    is_cont: np.ndarray  # uint8 (8575,), 1 at those continuum pixels

    @property
    def chips(self):
        return tuple(slice(int(a), int(b)) for a, b in zip(self.chip_start, self.chip_stop))


def _chip_x(wl, lo, hi):
    """Map wavelength [Angstrom] in a chip's range [lo, hi] onto [-1, 1]."""
    return (2.0 * wl - (lo + hi)) / (hi - lo)


@lru_cache(maxsize=8)
def _geometry(degree: int) -> _Geometry:
    wl = apogee_grid.wavelength()
    chip_of = apogee_grid.chip_of_pixel()
    cont_all = apogee_grid.continuum_pixels()
    p = degree + 1
    basis = np.zeros((p, apogee_grid.N_PIXELS))
    starts, stops, conts = [], [], []
    for k, (lo, hi) in enumerate(apogee_grid.CHIPS):
        idx = np.flatnonzero(chip_of == k)
        start, stop = int(idx[0]), int(idx[-1]) + 1
        basis[:, start:stop] = chebyshev.chebvander(_chip_x(wl[start:stop], lo, hi), degree).T
        cont = cont_all[chip_of[cont_all] == k]
        starts.append(start)
        stops.append(stop)
        conts.append(cont)
    cont = np.concatenate(conts).astype(np.int64)
    is_cont = np.zeros(apogee_grid.N_PIXELS, dtype=np.uint8)
    is_cont[cont] = 1
    return _Geometry(
        np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64), basis, cont,
        np.cumsum([0] + [c.size for c in conts]).astype(np.int64), is_cont,
    )


@dataclass(frozen=True)
class _Relevant:
    """The pixels that decide the continuum fit for a mask growth (arrays as fit_weights takes them):
    the continuum pixels and their neighbours within the growth in the same chip."""

    rel: np.ndarray  # int64 (n_rel,), those pixels in order, chip by chip
    rel_bounds: np.ndarray  # int64 (n_chips + 1,), chip k's are rel[rel_bounds[k]:rel_bounds[k + 1]]
    rel_cont: np.ndarray  # uint8 (n_rel,), 1 at the continuum pixels
    rel_runs: np.ndarray  # int64 (3, n_runs): runs of consecutive pixels in rel: first pixel, place, length
    rel_run_bounds: np.ndarray  # int64 (n_chips + 1,), chip k's runs
    adjacent: np.ndarray  # uint8 (2 grow, n_rel): the place d before / after holds the pixel d before / after
    # per chip, float64 (n_rel_k, (degree + 1)(degree + 2) / 2): products T_a T_b (a <= b, in the
    # order of np.triu_indices) of the basis at its relevant pixels (the kernel's weights, one
    # column per relevant pixel, @ this: the upper triangles of the symmetric normal matrices)
    design_outer: tuple
    design_cont: tuple  # per chip, float64 (n_rel_k, degree + 1): the basis at its relevant pixels
    chip_cols: tuple  # per chip, the slice of its columns in rel
    outer_t: np.ndarray  # float64 ((degree + 1)(degree + 2) / 2, n_rel): design_outer, all chips, transposed
    cont_t: np.ndarray  # float64 (degree + 1, n_rel): design_cont, all chips, transposed
    # int64 ((degree + 1)^2,): for each entry (a, b) of a normal matrix, row-major, its column among
    # the products T_a T_b of design_outer (the symmetric matrix from its upper triangle)
    symmetric: np.ndarray


@lru_cache(maxsize=8)
def _relevant(degree: int, grow: int) -> _Relevant:
    geom = _geometry(degree)
    rels = []
    for k in range(geom.chip_start.size):
        cont = geom.cont[geom.cont_bounds[k]:geom.cont_bounds[k + 1]]
        around = (cont[:, None] + np.arange(-grow, grow + 1)[None, :]).ravel()
        rels.append(np.unique(around[(around >= geom.chip_start[k]) & (around < geom.chip_stop[k])]))
    rel = np.concatenate(rels).astype(np.int64)
    rel_bounds = np.cumsum([0] + [r.size for r in rels]).astype(np.int64)
    chip = np.repeat(np.arange(len(rels)), [r.size for r in rels])
    adjacent = np.zeros((2 * grow, rel.size), dtype=np.uint8)
    for d in range(1, grow + 1):
        adjacent[2 * d - 2, d:] = (rel[:-d] == rel[d:] - d) & (chip[:-d] == chip[d:])
        adjacent[2 * d - 1, :-d] = (rel[d:] == rel[:-d] + d) & (chip[d:] == chip[:-d])
    rel_runs, rel_run_bounds = _runs(rel, np.arange(rel.size), rel_bounds)
    p = degree + 1
    design_cont = tuple(geom.basis[:, r].T.copy() for r in rels)
    upper = np.triu_indices(p)
    design_outer = tuple(v[:, upper[0]] * v[:, upper[1]] for v in design_cont)
    column = np.empty((p, p), dtype=np.int64)
    column[upper] = np.arange(upper[0].size)
    column[upper[1], upper[0]] = column[upper]
    chip_cols = tuple(slice(int(a), int(b)) for a, b in zip(rel_bounds[:-1], rel_bounds[1:]))
    return _Relevant(rel, rel_bounds, geom.is_cont[rel].copy(), rel_runs, rel_run_bounds, adjacent,
                     design_outer, design_cont, chip_cols, np.ascontiguousarray(np.concatenate(design_outer).T),
                     np.ascontiguousarray(np.concatenate(design_cont).T), column.ravel())


def _runs(source, dest, bounds):
    """Runs where both int arrays source and dest step by 1, not crossing the given bounds (the
    chips): int64 (3, n_runs) first source, first dest, length; and each chip's runs (n_chips + 1,)."""
    breaks = np.flatnonzero((np.diff(source) != 1) | (np.diff(dest) != 1)) + 1
    starts = np.union1d(breaks, bounds[:-1][bounds[:-1] < bounds[-1]])
    stops = np.append(starts[1:], source.size)
    runs = np.stack([source[starts], dest[starts], stops - starts]).astype(np.int64)
    return runs, np.searchsorted(starts, bounds).astype(np.int64)


def _check_options(degree, max_normalized_error, bad_pixel_error, min_continuum_pixels, grow):
    if int(degree) != degree or degree < 0:
        raise ValueError(f"normalization degree must be a non-negative integer, got {degree!r}")
    if min_continuum_pixels < degree + 1:
        raise ValueError(
            f"min_continuum_pixels = {min_continuum_pixels} cannot constrain a degree-{degree} "
            f"polynomial; use at least {degree + 1}"
        )
    if not max_normalized_error > 0:
        raise ValueError(f"max_normalized_error must be positive, got {max_normalized_error!r}")
    if not np.float32(bad_pixel_error) > np.float32(max_normalized_error):  # compared as stored
        raise ValueError(
            f"bad_pixel_error = {bad_pixel_error!r} must exceed max_normalized_error = "
            f"{max_normalized_error!r} so that masked pixels stand out"
        )
    if int(grow) != grow or grow < 0:
        raise ValueError(f"mask growth must be a non-negative integer, got {grow!r}")


def _as_spectra(flux, err):
    flux = np.asarray(flux, dtype=np.float32)
    err = np.asarray(err, dtype=np.float32)
    if flux.ndim == 1:
        flux, err = flux[None], err[None]
    if flux.shape != err.shape or flux.ndim != 2 or flux.shape[1] != apogee_grid.N_PIXELS:
        raise ValueError(
            f"flux {flux.shape} and err {err.shape} must both be (n_stars, {apogee_grid.N_PIXELS})"
        )
    return flux, err


@dataclass(frozen=True)
class _Rules:
    thr: np.float32  # max_normalized_error (float32, as the cut is made on float32 values)
    bad_pixel_error: np.float32
    grow: int
    min_pixels: int


def normalize(
    flux,
    err,
    *,
    degree: int,
    max_normalized_error: float,
    bad_pixel_error: float,
    min_continuum_pixels: int,
    grow: int,
    out=None,
    continuum_fit: str = "improved",
    masking: str = "improved",
) -> Normalized:
    """Pseudo-continuum normalize spectra (see the module docstring for the rules).

    flux, err: (n_stars, 8575) or (8575,), any units (same for both), err is 1 sigma.
    degree: Chebyshev degree of each chip's continuum (2 = quadratic).
    max_normalized_error: pixels whose err / continuum exceeds this are masked (0.3).
    bad_pixel_error: normalized uncertainty given to masked pixels (their flux is set to 1).
    min_continuum_pixels: fewest good continuum pixels a chip fit may use; chips with fewer are
        masked and reported as FIT_TOO_FEW in ``chip_status``.
    grow: the mask grows by this many pixels on each side (not from no-data pixels).
    out: optional pair of float32 (n_stars, 8575) arrays (e.g. memory maps) to write the
        normalized flux and err into.
    continuum_fit, masking: the switches of :mod:`spectroparallax.modes`, "improved" (the rules
        above) or "paper" (normalize_all_spectra.py's; see the module docstring). With
        masking="paper", max_normalized_error, bad_pixel_error and grow are not used (the paper's
        0.3, 3 and 1 are), and masked pixels hold error ``PAPER_LARGE_ERROR``.
    """
    # numba is imported here, not with the module: the steps that only read normalized spectra
    # (pixel coverage, the design matrix) then do not load the compiler (~100 MB).
    from spectroparallax.spectra import normalize_kernels

    normalize_kernels.announce_compilation()
    _check_options(degree, max_normalized_error, bad_pixel_error, min_continuum_pixels, grow)
    _check_switches(continuum_fit, masking)
    flux, err = _as_spectra(flux, err)
    n = flux.shape[0]
    geom = _geometry(int(degree))
    if out is None:
        out = (np.empty_like(flux), np.empty_like(err))
    out_flux, out_err = out
    if out_flux.shape != flux.shape or out_err.shape != flux.shape:
        raise ValueError(f"out arrays must have shape {flux.shape}")
    if continuum_fit != "improved" or masking != "improved":
        rules = _Rules(np.float32(max_normalized_error), np.float32(bad_pixel_error), int(grow),
                       int(min_continuum_pixels))
        return _normalize_switched(geom, flux, err, rules, continuum_fit, masking, out_flux, out_err)
    n_chips = geom.chip_start.size
    fit_ok = np.zeros((n, n_chips), dtype=bool)
    nonpositive = np.zeros((n, n_chips), dtype=bool)
    n_fit = np.zeros((n, n_chips), dtype=np.int64)
    n_masked = np.zeros(n, dtype=np.int64)
    rules = _Rules(np.float32(max_normalized_error), np.float32(bad_pixel_error), int(grow),
                   int(min_continuum_pixels))

    buffers = _fit_buffers(geom, rules, _BLOCK)
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        f, e = flux[a:b], err[a:b]
        if b - a < _BLOCK:
            # Pad the last block with empty rows to the buffers' shape (a star's numbers are its
            # own either way: the kernels fit and solve star by star).
            f = np.vstack([f, np.full((_BLOCK - (b - a), f.shape[1]), np.nan, np.float32)])
            e = np.vstack([e, np.full((_BLOCK - (b - a), e.shape[1]), np.nan, np.float32)])
        coef, ok, count = _fit_block(geom, f, e, rules, buffers)
        fit_ok[a:b], n_fit[a:b] = ok[:b - a], count[:b - a]
        # np.asarray: a memory-mapped `out` is passed to the kernel as a plain view of its buffer.
        normalize_kernels.divide(
            flux[a:b], err[a:b], coef[:b - a], fit_ok[a:b], geom.basis, geom.chip_start,
            geom.chip_stop, rules.thr, rules.grow, _NO_DATA, rules.bad_pixel_error,
            np.asarray(out_flux[a:b]), np.asarray(out_err[a:b]), nonpositive[a:b], n_masked[a:b],
        )
    status = np.where(fit_ok, np.where(nonpositive, FIT_NONPOSITIVE, FIT_OK), FIT_TOO_FEW).astype("<U32")
    return Normalized(out_flux, out_err, status, n_fit, n_masked, rules.bad_pixel_error)


_NO_DATA = np.float32(NO_DATA_ERROR)


def _check_switches(continuum_fit, masking):
    for name, value in (("continuum_fit", continuum_fit), ("masking", masking)):
        if value not in SWITCH_VALUES:
            raise ValueError(f"normalize: {name} must be one of {', '.join(SWITCH_VALUES)}, got {value!r}")


def _paper_inputs(flux, err):
    """float64 copies of flux and err with the paper's bad input pixels (non-finite flux, non-finite
    or non-positive error) set to flux 1 and error PAPER_LARGE_ERROR, and the bool mask of them."""
    f, e = flux.astype(np.float64), err.astype(np.float64)
    bad = ~np.isfinite(f) | ~(np.isfinite(e) & (e > 0))
    f[bad] = 1.0
    e[bad] = PAPER_LARGE_ERROR
    return f, e, bad


def _paper_fit(geom, f, e, bad):
    """The paper's one-pass fit of every chip (continuum_fit="paper", see the module docstring).

    f, e: float64 (n, 8575) from :func:`_paper_inputs`, bad their replaced pixels. Returns coef
    float64 (n, n_chips, degree + 1) in the chip basis of ``geom``, fit_ok bool (n, n_chips)
    (False only if a solve gave no finite numbers) and the continuum pixels that entered with their
    own error int (n, n_chips).
    """
    n, n_chips, p = f.shape[0], geom.chip_start.size, geom.basis.shape[0]
    extra = np.where(geom.is_cont != 0, 0.0, PAPER_LARGE_ERROR ** 2)
    normal = np.empty((n, n_chips, p, p))
    rhs = np.empty((n, n_chips, p))
    count = np.empty((n, n_chips), dtype=np.int64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for k, sl in enumerate(geom.chips):
            ivar = 1.0 / (e[:, sl] ** 2 + extra[sl])
            weight = ivar * ivar   # numpy's Chebyshev.fit(w=ivar) minimizes sum (w * residual)^2
            basis = geom.basis[:, sl]
            outer = (basis[:, None, :] * basis[None, :, :]).reshape(p * p, -1).T
            normal[:, k] = (weight @ outer).reshape(n, p, p)
            rhs[:, k] = (weight * f[:, sl]) @ basis.T
            count[:, k] = ((geom.is_cont[sl] != 0) & ~bad[:, sl]).sum(axis=1)
    try:
        coef = np.linalg.solve(normal, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:  # only through weights that underflow to 0 everywhere
        coef = (np.linalg.pinv(normal) @ rhs[..., None])[..., 0]
    ok = np.isfinite(coef).all(axis=-1)
    coef[~ok] = 0.0
    return coef, ok, count


def _paper_mask(geom, f, e, coef, out_flux, out_err):
    """The paper's division and masking (masking="paper", see the module docstring).

    f, e: float64 (n, 8575) from :func:`_paper_inputs`; coef: each star's chip continua. Writes
    float32 out_flux, out_err (n, 8575); returns the masked pixels of each star int (n,).
    """
    flat_f = np.ones(f.shape)
    flat_e = np.full(f.shape, PAPER_LARGE_ERROR)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k, sl in enumerate(geom.chips):
            continuum = coef[:, k, :] @ geom.basis[:, sl]
            flat_f[:, sl] = f[:, sl] / continuum
            flat_e[:, sl] = e[:, sl] / continuum
        noisy = flat_e > PAPER_MAX_NORMALIZED_ERROR
        flat_f[noisy] = 1.0
        flat_e[noisy] = PAPER_LARGE_ERROR
        bad = ~np.isfinite(flat_f) | ~(np.isfinite(flat_e) & (flat_e > 0)) | (flat_e > PAPER_MASK_ERROR)
    grown = bad.copy()
    grown[:, 1:] |= bad[:, :-1]
    grown[:, :-1] |= bad[:, 1:]
    flat_f[grown] = 1.0
    flat_e[grown] = PAPER_LARGE_ERROR
    out_flux[...] = flat_f
    out_err[...] = flat_e
    return grown.sum(axis=1)


def _normalize_switched(geom, flux, err, rules, continuum_fit, masking, out_flux, out_err):
    """:func:`normalize` with at least one of the two switches set to "paper"."""
    from spectroparallax.spectra import normalize_kernels

    n, n_chips = flux.shape[0], geom.chip_start.size
    fit_ok = np.zeros((n, n_chips), dtype=bool)
    nonpositive = np.zeros((n, n_chips), dtype=bool)
    n_fit = np.zeros((n, n_chips), dtype=np.int64)
    n_masked = np.zeros(n, dtype=np.int64)
    buffers = _fit_buffers(geom, rules, _BLOCK)
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        f, e = flux[a:b], err[a:b]
        if b - a < _BLOCK:   # padded as in normalize: a star's numbers do not depend on the others
            f = np.vstack([f, np.full((_BLOCK - (b - a), f.shape[1]), np.nan, np.float32)])
            e = np.vstack([e, np.full((_BLOCK - (b - a), e.shape[1]), np.nan, np.float32)])
        if continuum_fit == "paper":
            coef, ok, count = _paper_fit(geom, *_paper_inputs(f, e))
        else:
            coef, ok, count = _fit_block(geom, f, e, rules, buffers)
        coef, ok = coef[:b - a], ok[:b - a]
        fit_ok[a:b], n_fit[a:b] = ok, count[:b - a]
        if masking == "paper":
            f64, e64, _ = _paper_inputs(flux[a:b], err[a:b])
            n_masked[a:b] = _paper_mask(geom, f64, e64, coef, out_flux[a:b], out_err[a:b])
        else:
            normalize_kernels.divide(
                flux[a:b], err[a:b], coef, fit_ok[a:b], geom.basis, geom.chip_start, geom.chip_stop,
                rules.thr, rules.grow, _NO_DATA, rules.bad_pixel_error,
                np.asarray(out_flux[a:b]), np.asarray(out_err[a:b]), nonpositive[a:b], n_masked[a:b],
            )
    status = np.where(fit_ok, np.where(nonpositive, FIT_NONPOSITIVE, FIT_OK), FIT_TOO_FEW).astype("<U32")
    bad_error = np.float32(PAPER_LARGE_ERROR) if masking == "paper" else rules.bad_pixel_error
    return Normalized(out_flux, out_err, status, n_fit, n_masked, bad_error)


def _fit_buffers(geom, rules, n):
    """The kernel's working arrays for blocks of n stars, reused from block to block: (coef,
    weights, count, margins, refit, triangle, rhs), as :func:`_fit_block` takes them (weights: one
    star's scratch; triangle and rhs: the normal equations). Every element is written by pass 1
    before it is read."""
    n_chips, p = geom.chip_start.size, geom.basis.shape[0]
    n_rel = _relevant(p - 1, rules.grow).rel.size
    return (np.zeros((n, n_chips, p)), np.empty((2, n_rel)), np.empty((n, n_chips), dtype=np.int64),
            np.empty((n, n_chips, 2), dtype=np.float32), np.empty((n, n_chips), dtype=bool),
            np.empty((n, n_chips, p * (p + 1) // 2)), np.empty((n, n_chips, p)))


def _fit_block(geom, flux, err, rules, buffers=None):
    """Two-pass continuum fit of a block of stars in every chip.

    flux, err: float32 (n, 8575); buffers: from :func:`_fit_buffers` for n stars (made here if
    None). Returns coef float64 (n, n_chips, degree + 1) (0 where the fit failed), fit_ok bool
    (n, n_chips) and the number of continuum pixels fitted int (n, n_chips), which is one of the
    buffers (the next block overwrites it). A chip that fails pass 1 fails pass 2 too.
    """
    from spectroparallax.spectra import normalize_kernels

    p = geom.basis.shape[0]
    near = _relevant(p - 1, rules.grow)
    coef, weights, count, margins, refit, triangle, rhs = buffers or _fit_buffers(geom, rules, flux.shape[0])
    args = (geom.basis, near.rel, near.rel_bounds, near.rel_cont, near.rel_runs, near.rel_run_bounds, geom.cont,
            geom.cont_bounds, near.adjacent, rules.grow, rules.thr, _NO_DATA, weights, count, margins, refit,
            near.outer_t, near.cont_t, triangle, rhs)
    # Pass 1, against the flat level.
    normalize_kernels.fit_weights(flux, err, coef, True, *args)
    ok = count >= rules.min_pixels
    normalize_kernels.solve_normal(triangle, rhs, near.symmetric, ok, coef)
    # Pass 2, against the first fit. The kernel leaves the normal equations of a chip as they are
    # where no pixel's decision can change, so solving again is needed only if some chip's did.
    normalize_kernels.fit_weights(flux, err, coef, False, *args)
    if refit.any():
        ok = count >= rules.min_pixels
        normalize_kernels.solve_normal(triangle, rhs, near.symmetric, ok, coef)
    return coef, ok, count


def normalize_reference(
    flux, err, *, degree, max_normalized_error, bad_pixel_error, min_continuum_pixels, grow
):
    """Straightforward per-star, per-chip version of :func:`normalize` using ``Chebyshev.fit``.

    Slow; it exists to check and benchmark :func:`normalize` on the same problem. Returns
    ``(flux, err, chip_status)`` like the corresponding fields of :class:`Normalized`.
    """
    _check_options(degree, max_normalized_error, bad_pixel_error, min_continuum_pixels, grow)
    flux, err = _as_spectra(flux, err)
    wl = apogee_grid.wavelength()
    chip_of = apogee_grid.chip_of_pixel()
    cont_all = apogee_grid.continuum_pixels()
    thr = max_normalized_error
    n = flux.shape[0]
    out_flux = np.ones(flux.shape, dtype=np.float32)
    out_err = np.full(flux.shape, bad_pixel_error, dtype=np.float32)
    status = np.full((n, 3), FIT_OK, dtype="<U32")

    def grown(bad, no_data):
        g = bad.copy()
        seed = bad & ~no_data  # no-data pixels are masked but do not mask their neighbours
        for s in range(1, grow + 1):
            g[s:] |= seed[:-s]
            g[:-s] |= seed[s:]
        return g

    chips = []
    for k, (lo, hi) in enumerate(apogee_grid.CHIPS):
        idx = np.flatnonzero(chip_of == k)
        chips.append((lo, hi, idx, cont_all[chip_of[cont_all] == k]))
    for i in range(n):
        for k, (lo, hi, idx, cont) in enumerate(chips):
            f, e = flux[i, idx].astype(np.float64), err[i, idx].astype(np.float64)
            fc, ec = flux[i, cont].astype(np.float64), err[i, cont].astype(np.float64)
            no_data = (err[i, idx] >= NO_DATA_ERROR) | (err[i, idx] == 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                usable = np.isfinite(f) & np.isfinite(e) & (e > 0)
                valid = usable[cont - idx[0]] & (fc > 0)
                level = np.median(flux[i, cont][valid]) if valid.any() else np.float32(0)
                c2, fitted = level, True
                for _ in range(2):  # pass 1 masks against the flat level, pass 2 against the first fit
                    bad = ~(usable & (err[i, idx] <= thr * c2))
                    good = ~grown(bad, no_data)[cont - idx[0]]
                    if good.sum() < min_continuum_pixels:
                        fitted = False
                        break
                    c2 = Chebyshev.fit(wl[cont][good], fc[good], degree, w=1 / ec[good], domain=[lo, hi])(wl[idx])
                    c2 = c2.astype(np.float32)
                if not fitted:
                    status[i, k] = FIT_TOO_FEW
                    continue
                if not (c2 > 0).all():
                    status[i, k] = FIT_NONPOSITIVE
                    continue
                fn, en = flux[i, idx] / c2, err[i, idx] / c2
                keep = ~grown(~(np.isfinite(fn) & (en > 0) & (en <= thr)), no_data)
            out_flux[i, idx[keep]] = fn[keep]
            out_err[i, idx[keep]] = en[keep]
    return out_flux, out_err, status


def normalize_files(
    paths,
    flux_path,
    err_path,
    *,
    shard_size: int,
    degree: int,
    max_normalized_error: float,
    bad_pixel_error: float,
    min_continuum_pixels: int,
    grow: int,
    progress: bool = False,
    continuum_fit: str = "improved",
    masking: str = "improved",
) -> Table:
    """Read and normalize spectrum files shard by shard into two float32 ``.npy`` files.

    Writes ``flux_path`` and ``err_path``, each (len(paths), 8575) float32, readable with
    ``np.load(..., mmap_mode='r')``; row i belongs to ``paths[i]``. Only one shard of
    ``shard_size`` spectra is held in memory at a time (it is appended to the files, which are
    not memory-mapped while written); both files appear atomically at the end.
    Files that could not be read give rows of NaN. Returns a Table, one row per path: ``path``,
    ``read_status``, ``read_reason``, ``fit_status_chip0..2`` (FIT_* values, FIT_NOT_READ for
    unread files), ``n_masked`` (masked pixels, -1 for unread files) and ``status``: 'ok' (read and
    every chip fitted), 'missing', 'unreadable' or 'fit_failed'. ``continuum_fit`` and ``masking``
    are :func:`normalize`'s switches.
    """
    paths = [os.fspath(p) for p in paths]
    if int(shard_size) != shard_size or shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer, got {shard_size!r}")
    shape = (len(paths), apogee_grid.N_PIXELS)
    options = dict(
        degree=degree, max_normalized_error=max_normalized_error, bad_pixel_error=bad_pixel_error,
        min_continuum_pixels=min_continuum_pixels, grow=grow,
    )
    _check_options(**options)
    _check_switches(continuum_fit, masking)
    options.update(continuum_fit=continuum_fit, masking=masking)
    read_status = np.empty(len(paths), dtype=object)
    read_reason = np.empty(len(paths), dtype=object)
    chip_status = np.full((len(paths), 3), FIT_NOT_READ, dtype="<U32")
    n_masked = np.full(len(paths), -1, dtype=np.int64)
    starts = range(0, len(paths), int(shard_size))
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="normalize", unit="shard")
    block = min(int(shard_size), max(len(paths), 1))
    buffers = (np.empty((block, apogee_grid.N_PIXELS), np.float32), np.empty((block, apogee_grid.N_PIXELS), np.float32))
    with npy_row_writer(flux_path, shape) as flux_out, npy_row_writer(err_path, shape) as err_out:
        for a in starts:
            b = min(a + int(shard_size), len(paths))
            flux, err, st = read_spectra(paths[a:b])
            out = (buffers[0][:b - a], buffers[1][:b - a])
            res = normalize(flux, err, out=out, **options)
            unread = np.asarray(st["status"]) != READ_OK
            out[0][unread] = np.nan
            out[1][unread] = np.nan
            flux_out.write(out[0])
            err_out.write(out[1])
            read_status[a:b] = np.asarray(st["status"])
            read_reason[a:b] = np.asarray(st["reason"])
            chip_status[a:b] = np.where(unread[:, None], FIT_NOT_READ, res.chip_status)
            n_masked[a:b] = np.where(unread, -1, res.n_masked)
    table = Table({"path": np.array(paths, dtype=str), "read_status": read_status.astype(str),
                   "read_reason": read_reason.astype(str)})
    for k in range(3):
        table[f"fit_status_chip{k}"] = chip_status[:, k]
    table["n_masked"] = n_masked
    fit_failed = (chip_status != FIT_OK).any(axis=1)
    table["status"] = np.where(table["read_status"] != READ_OK, table["read_status"],
                               np.where(fit_failed, "fit_failed", "ok"))
    return table


def pixel_coverage(err_or_mask, *, max_error=None, rows=None, chunk_rows: int = 2048) -> np.ndarray:
    """Fraction of stars that have data in each pixel, float64 (n_pixels,).

    err_or_mask: (n_stars, n_pixels) bool mask (True = masked, no data) or normalized
        uncertainties (then a pixel has data where err <= ``max_error``, which must be given;
        NaN rows of unread stars count as no data). A memory map is read in chunks of rows.
    rows: optional bool (n_stars,) selecting the stars to count (e.g. the successfully read ones).
    """
    arr = err_or_mask
    is_mask = arr.dtype == bool
    if not is_mask and max_error is None:
        raise ValueError("pixel_coverage: give max_error to say which normalized uncertainties count as data")
    n = arr.shape[0]
    sel = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if sel.shape != (n,):
        raise ValueError(f"rows must be a bool array of length {n}, got shape {sel.shape}")
    if not sel.any():
        raise ValueError("pixel_coverage: no stars selected")
    count = np.zeros(arr.shape[1], dtype=np.int64)
    for a in range(0, n, chunk_rows):
        block = np.asarray(arr[a:a + chunk_rows])[sel[a:a + chunk_rows]]
        with np.errstate(invalid="ignore"):
            has = ~block if is_mask else block <= max_error
        count += has.sum(axis=0)
    return count / sel.sum()


def shard_coverage(err_paths, star_tables, *, max_error, chunk_rows: int = 2048) -> tuple[np.ndarray, int]:
    """Pixel coverage over the normalized shards: (fraction per pixel float64 (8575,), stars counted).

    err_paths: the shards' normalized-error ``.npy`` files; star_tables: their star tables (rows in
    the same order) with ``spectrum_status``; only the 'ok' stars count. Each file is read in
    blocks of ``chunk_rows`` rows.
    """
    covered = np.zeros(apogee_grid.N_PIXELS)
    n_read = 0
    for path, stars in zip(err_paths, star_tables, strict=True):
        ok = np.flatnonzero(np.asarray(stars["spectrum_status"]) == "ok")
        for a in range(0, ok.size, chunk_rows):
            rows = ok[a:a + chunk_rows]
            covered += pixel_coverage(read_npy_rows(path, rows), max_error=max_error) * rows.size
        n_read += ok.size
    if n_read == 0:
        raise ValueError("no spectrum was read in any shard; see results/<survey>/spectra/shard_*/stars.ecsv")
    return covered / n_read, n_read


def not_unit_fraction(flux_paths, rows_per_shard, *, chunk_rows: int = 2048) -> tuple[np.ndarray, int]:
    """Per pixel, the fraction of the given stars whose normalized flux is not exactly 1.

    flux_paths: the shards' normalized-flux ``.npy`` files; rows_per_shard: for each, the int rows
    of the stars to count (e.g. the Parent Sample's), read ``chunk_rows`` at a time. Returns
    (fraction float64 (n_pixels,), number of stars counted).
    """
    count, n = None, 0
    for path, rows in zip(flux_paths, rows_per_shard, strict=True):
        rows = np.sort(np.asarray(rows, dtype=np.int64))
        for a in range(0, rows.size, chunk_rows):
            block = read_npy_rows(path, rows[a:a + chunk_rows])
            here = (block != 1).sum(axis=0)
            count = here if count is None else count + here
        n += rows.size
    if n == 0:
        raise ValueError("no star to count: the Parent Sample is empty or has no normalized spectrum")
    return count / n, n


def select_pixels_paper(fraction_not_unit) -> np.ndarray:
    """The paper's pixel set (pixel_set="paper"): drop a pixel only where the normalized flux is
    exactly 1 in every parent star, i.e. keep it where :func:`not_unit_fraction` is above 0.

    infer_parallax.py @ 7e102f0 drops ``gaps = np.sum(fluxes.T, axis=0) == N``: a sum of N fluxes
    equals N when every one is 1 (masked; the paper's masking sets flux 1) and, short of a rounding
    coincidence, only then. Returns bool (n_pixels,), True = keep.
    """
    return np.asarray(fraction_not_unit) > 0


def select_pixels(err_or_mask, min_fraction, *, max_error=None, rows=None) -> np.ndarray:
    """Keep the pixels that have data for at least ``min_fraction`` of the stars.

    Returns bool (n_pixels,), True = keep. Arguments as in :func:`pixel_coverage`; HER19 sec. 4
    keeps 7405 of the 8575 pixels this way (chip gaps and rarely covered pixels dropped).
    """
    if not 0.0 <= min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be in [0, 1], got {min_fraction!r}")
    return pixel_coverage(err_or_mask, max_error=max_error, rows=rows) >= min_fraction
