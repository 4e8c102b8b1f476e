"""Mock APOGEE spectra: a synthetic line list, true normalized flux, instrument continuum, noise.

The true normalized flux is exp(-tau) with tau a sum of Gaussian lines whose optical depths are
log-linear in (Teff, logg, [Fe/H], [alpha/M]); four kinds of line (iron, alpha-element,
molecular CN/CO-like and gravity-sensitive) respond differently to the labels. The strong lines
(``n_lines``) avoid The Cannon's continuum pixels; a forest of weak lines (``weak_lines``, central
depths of a few 0.1 percent up to ~1 percent, the same label dependences) falls anywhere in the
chips, continuum pixels included, as in real giants, whose "continuum" pixels are only nearly so.

The observed flux is that times a per-chip instrument continuum that is NOT of the normalizer's
family (a polynomial in wavelength per chip): an overall level times exp(tilt x) times a
blaze-like sinc^2 times (1 + a natural cubic spline through a few random knots), x mapping the
chip's wavelength range onto [-1, 1]; plus Gaussian noise set by the SNR. The shape was compared
with the three real apStar spectra in the project's reference data (see
:func:`draw_continuum_parameters`).
"""

from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.interpolate import CubicSpline

# The mock's own copy of the grid facts (shared/data/sas_layout.md sec. 5), not the project's
# spectra.apogee_grid: the mock must not borrow the code it tests.
#: The apStar/aspcapStar grid: 8575 pixels at log10(lambda / Angstrom) = 4.179 + 6e-6 i (vacuum).
N_PIXELS, LOG10_LAMBDA_START, LOG10_LAMBDA_STEP = 8575, 4.179, 6e-6
#: Where the mock's spectra hold data [Angstrom]: HER19's per-chip continuum ranges ([HER]
#: NormalizeData, sas_layout.md sec. 5), less each star's dead chip-edge pixels (EDGE_PIXELS).
CHIPS = ((15150.0, 15800.0), (15890.0, 16430.0), (16490.0, 16950.0))
#: ASPCAP's chip ranges on the 8575 grid, DR13-DR17 (0-based, end exclusive; sas_layout.md sec. 5):
#: aspcapStar files hold flux 0 and error 0 outside them.
ASPCAP_CHIP_PIXELS = ((246, 3274), (3585, 6080), (6344, 8335))


def wavelength() -> np.ndarray:
    """Vacuum wavelength [Angstrom] of every pixel of the 8575 grid."""
    return 10.0 ** (LOG10_LAMBDA_START + LOG10_LAMBDA_STEP * np.arange(N_PIXELS))


@lru_cache(maxsize=1)
def _chip_of_pixel() -> np.ndarray:
    wl = wavelength()
    chip = np.full(N_PIXELS, -1, dtype=np.int8)
    for k, (lo, hi) in enumerate(CHIPS):
        chip[(wl >= lo) & (wl <= hi)] = k
    chip.flags.writeable = False
    return chip


def chip_of_pixel() -> np.ndarray:
    """Per pixel, the chip (0, 1, 2) of :data:`CHIPS` it lies in, or -1 (a fresh array)."""
    return _chip_of_pixel().copy()


def outside_aspcap_chips() -> np.ndarray:
    """True for the pixels outside ASPCAP's three chip ranges (:data:`ASPCAP_CHIP_PIXELS`)."""
    out = np.ones(N_PIXELS, dtype=bool)
    for lo, hi in ASPCAP_CHIP_PIXELS:
        out[lo:hi] = False
    return out


@lru_cache(maxsize=1)
def _continuum_pixels() -> np.ndarray:
    text = resources.files("spectroparallax.mock").joinpath("data/continuum_pixels_dr13.txt").read_text()
    return np.unique(np.array(text.split(), dtype=np.int64))


def continuum_pixels() -> np.ndarray:
    """The Cannon's DR13 pseudo-continuum pixels (the mock's own copy, mock/data/), sorted."""
    return _continuum_pixels().copy()

#: Pixels per chip edge that are zero in (nearly) every star: chip 1 blue/red edge, chip 2, chip 3.
EDGE_PIXELS = (8, 8, 8, 7, 8, 7)
#: Defaults of the mock's continuum and weak-line knobs (catalog.DEFAULT_KNOBS and config.yaml use them).
WEAK_LINES, WEAK_LINE_DEPTH = 800, 0.003
CONTINUUM_TILT, BLAZE_DEPTH, CONTINUUM_WIGGLE, CONTINUUM_KNOTS = -0.04, 0.06, 0.005, 8
#: Flux and error that real aspcapStar files carry in chip gaps and dead pixels: both writers fill
#: zero arrays and copy only the chip pixels (sas_layout.md sec. 5), so 0 and 0 (not 1e10, not NaN).
GAP_FLUX, GAP_ERROR = 0.0, 0.0

#: Mean label sensitivities of d ln(tau) / d(label) per kind of line, for labels scaled as
#: ((Teff - 4500 K) / 500 K, logg - 2, [Fe/H], [alpha/M]), and the fraction of lines of each kind.
LINE_KINDS = {
    "iron": {"fraction": 0.35, "slopes": (-0.5, 0.1, 2.3, 0.0)},
    "alpha": {"fraction": 0.25, "slopes": (-0.3, 0.2, 2.3, 2.3)},
    "molecular": {"fraction": 0.25, "slopes": (-1.2, -0.4, 2.0, -0.5)},
    "gravity": {"fraction": 0.15, "slopes": (-0.3, 0.6, 1.5, 0.0)},
}


@lru_cache(maxsize=4)
def line_list(n_lines: int, seed: int):
    """Return the synthetic line list: dict of arrays center [pixel], width [pixel], ln_tau0,
    slopes (n_lines, 4) and kind. Deterministic in (n_lines, seed)."""
    rng = np.random.default_rng(seed)
    in_chip = np.flatnonzero(chip_of_pixel() >= 0)
    names = list(LINE_KINDS)
    kind = rng.choice(len(names), size=n_lines, p=[LINE_KINDS[k]["fraction"] for k in names])
    mean_slopes = np.array([LINE_KINDS[names[k]]["slopes"] for k in kind])
    return {
        "center": rng.choice(in_chip, size=n_lines).astype(float) + rng.uniform(-0.5, 0.5, n_lines),
        "width": rng.uniform(1.2, 2.5, n_lines),
        "ln_tau0": np.log(0.25) + rng.normal(0.0, 0.9, n_lines),
        "slopes": mean_slopes + rng.normal(0.0, 0.2, mean_slopes.shape),
        "kind": np.array(names)[kind],
    }


@lru_cache(maxsize=4)
def weak_line_list(n_weak: int, seed: int):
    """The weak-line forest: like :func:`line_list` (same kinds and label slopes) but ``n_weak``
    lines anywhere in the chips, narrower, with central optical depths ln_tau0 around 0 (scaled by
    the ``weak_line_depth`` knob in :func:`line_depths`). Deterministic in (n_weak, seed); its
    random stream is separate from the strong lines', which it leaves unchanged."""
    rng = np.random.default_rng([seed, 7])
    in_chip = np.flatnonzero(chip_of_pixel() >= 0)
    names = list(LINE_KINDS)
    kind = rng.choice(len(names), size=n_weak, p=[LINE_KINDS[k]["fraction"] for k in names])
    mean_slopes = np.array([LINE_KINDS[names[k]]["slopes"] for k in kind]).reshape(n_weak, 4)
    return {
        "center": rng.choice(in_chip, size=n_weak).astype(float) + rng.uniform(-0.5, 0.5, n_weak),
        "width": rng.uniform(1.0, 2.0, n_weak),
        "ln_tau0": rng.normal(0.0, 0.6, n_weak),
        "slopes": mean_slopes + rng.normal(0.0, 0.2, mean_slopes.shape),
        "kind": np.array(names)[kind],
    }


def _gaussians(lines) -> np.ndarray:
    pix = np.arange(N_PIXELS)
    prof = np.exp(-0.5 * ((pix[None, :] - lines["center"][:, None]) / lines["width"][:, None]) ** 2)
    prof[prof < 1e-4] = 0.0
    prof[:, chip_of_pixel() < 0] = 0.0
    return prof


@lru_cache(maxsize=4)
def _profiles(n_lines: int, seed: int, n_weak: int = 0) -> np.ndarray:
    """Unit-depth line profiles (n_lines + n_weak, 8575), zero in chip gaps; the strong lines'
    are also zero at continuum pixels, the weak lines' are not."""
    strong = _gaussians(line_list(n_lines, seed))
    strong[:, continuum_pixels()] = 0.0
    if n_weak:
        strong = np.concatenate([strong, _gaussians(weak_line_list(n_weak, seed))])
    return strong.astype(np.float32)


def _labels(teff, logg, fe_h, alpha_m):
    return np.atleast_2d(np.stack([(np.asarray(teff, float) - 4500.0) / 500.0, np.asarray(logg, float) - 2.0,
                                   np.asarray(fe_h, float), np.asarray(alpha_m, float)], axis=-1))


def line_depths(teff, logg, fe_h, alpha_m, n_lines=300, line_seed=1, weak_lines=0, weak_line_depth=0.0):
    """Central optical depth of every line for every star, shape (n, n_lines + weak_lines).

    A weak line's depth is ``weak_line_depth`` x exp(ln_tau0 + labels @ slopes), capped at 0.01.
    """
    x = _labels(teff, logg, fe_h, alpha_m)
    lines = line_list(n_lines, line_seed)
    tau = np.exp(np.clip(lines["ln_tau0"] + x @ lines["slopes"].T, -20.0, np.log(5.0)))
    if weak_lines:
        weak = weak_line_list(weak_lines, line_seed)
        tau_w = weak_line_depth * np.exp(np.clip(weak["ln_tau0"] + x @ weak["slopes"].T, -20.0, 5.0))
        tau = np.concatenate([tau, np.minimum(tau_w, 0.01)], axis=1)
    return tau


def true_normalized_flux(teff, logg, fe_h, alpha_m, n_lines=300, line_seed=1, weak_lines=WEAK_LINES,
                         weak_line_depth=WEAK_LINE_DEPTH):
    """Noise-free continuum-normalized flux, shape (n, 8575) float32, for labels of n stars.

    teff [K], logg [dex], fe_h and alpha_m [dex]. Exactly 1 in the chip gaps; at the continuum
    pixels only the weak lines absorb (below 1 percent). ``n_lines`` and ``line_seed`` select the
    synthetic line list, ``weak_lines`` and ``weak_line_depth`` the weak-line forest (mock config;
    the defaults are the mock's).
    """
    n_weak = int(weak_lines) if weak_line_depth > 0 else 0
    tau = line_depths(teff, logg, fe_h, alpha_m, n_lines, line_seed, n_weak, weak_line_depth).astype(np.float32)
    return np.exp(-(tau @ _profiles(n_lines, line_seed, n_weak)))


#: Columns of the per-star, per-chip continuum parameters (truth column ``continuum_params``),
#: followed by the spline's knot values.
CONTINUUM_PARAMS = ("level", "tilt", "blaze_center", "blaze_depth")


def draw_continuum_parameters(n, rng, amplitude, tilt=CONTINUUM_TILT, blaze_depth=BLAZE_DEPTH,
                              wiggle=CONTINUUM_WIGGLE, knots=CONTINUUM_KNOTS):
    """Per-star, per-chip instrument-continuum parameters, shape (n, 3 chips, 4 + ``knots``).

    level: exp(N(0, amplitude) per star + N(0, amplitude / 3) per chip); tilt: d ln(continuum) /
    dx, N(``tilt``, amplitude); blaze_center: U(-0.4, 0.4); blaze_depth: ``blaze_depth`` x
    log-normal(0.3), the blaze's fall at one half-chip from its peak; then ``knots`` spline knot
    values, N(0, ``wiggle``).

    Compared with the three real apStar spectra of the reference data (real_spectra/; combined spectra,
    fitted at the DR13 continuum pixels): a quadratic fit spans 4-16 percent across a chip, its
    linear term is mostly negative (-0.02 to -0.07, flux falling to the red), and at the
    continuum pixels the residuals about it, smoothed over ~40 continuum pixels, have an rms of
    0.6-1.1 percent (a few wiggles per chip, plus weak lines and telluric residue). The defaults
    give a continuum spanning ~5-15 percent per chip with ~0.5 percent wiggles.
    """
    p = np.empty((n, 3, len(CONTINUUM_PARAMS) + knots))
    p[:, :, 0] = np.exp(rng.normal(0.0, amplitude, size=(n, 1)) + rng.normal(0.0, amplitude / 3.0, (n, 3)))
    p[:, :, 1] = rng.normal(tilt, amplitude, size=(n, 3))
    p[:, :, 2] = rng.uniform(-0.4, 0.4, size=(n, 3))
    p[:, :, 3] = blaze_depth * np.exp(rng.normal(0.0, 0.3, size=(n, 3)))
    p[:, :, 4:] = rng.normal(0.0, wiggle, size=(n, 3, knots))
    return p


def instrument_continuum(params):
    """Instrument continuum (n, 8575) for the parameters ``params`` (n, 3, 4 + knots) of
    :func:`draw_continuum_parameters`.

    On chip k, with x mapping the chip's wavelength range ``CHIPS[k]`` linearly onto
    [-1, 1]: level exp(tilt x) sinc^2(sqrt(3 depth) / pi (x - center)) (1 + S(x)), S the natural
    cubic spline through the knot values at equally spaced x in [-1, 1]. It is 1 in the chip gaps.
    """
    params = np.asarray(params, dtype=float)
    wl = wavelength()
    chip = chip_of_pixel()
    out = np.ones((params.shape[0], N_PIXELS))
    n_knots = params.shape[2] - len(CONTINUUM_PARAMS)
    for k, (lo, hi) in enumerate(CHIPS):
        sel = chip == k
        x = (2.0 * wl[sel] - (lo + hi)) / (hi - lo)
        level, tilt, center, depth = (params[:, k, j][:, None] for j in range(4))
        blaze = np.sinc(np.sqrt(3.0 * depth) / np.pi * (x[None, :] - center)) ** 2
        wiggle = CubicSpline(np.linspace(-1.0, 1.0, n_knots), params[:, k, 4:].T, bc_type="natural")(x).T
        out[:, sel] = level * np.exp(tilt * x[None, :]) * blaze * (1.0 + wiggle)
    return out


@lru_cache(maxsize=1)
def _chip_pixels():
    return tuple(np.flatnonzero(_chip_of_pixel() == k) for k in range(3))


def edge_pixel_index(edge_counts):
    """Pixel indices zeroed at the chip edges for one star, given its 6 per-edge counts."""
    idx = []
    for k, pix in enumerate(_chip_pixels()):
        idx.append(pix[: edge_counts[2 * k]])
        idx.append(pix[pix.size - edge_counts[2 * k + 1]:])
    return np.concatenate(idx)


@lru_cache(maxsize=1)
def noise_pattern() -> np.ndarray:
    """Relative per-pixel noise (8575,): mean ~1, rising towards chip edges (fixed for all stars)."""
    wl = wavelength()
    chip = chip_of_pixel()
    pattern = np.ones(N_PIXELS)
    for k, (lo, hi) in enumerate(CHIPS):
        sel = chip == k
        x = (2.0 * wl[sel] - (lo + hi)) / (hi - lo)
        pattern[sel] = 0.9 + 0.4 * x**8
    return pattern


def observe_spectrum(true_flux, continuum, snr, edge_counts, n_nan, rng, no_data=None):
    """One star's observed (flux, error), float32 (8575,), in aspcapStar conventions.

    flux = continuum * (true_flux + noise) with noise sigma = sqrt(true_flux) / snr times
    :func:`noise_pattern`; chip gaps, the star's zeroed edge pixels and the pixels ``no_data``
    (bool (8575,), e.g. :func:`outside_aspcap_chips`) carry flux 0 and error 0 (GAP_FLUX,
    GAP_ERROR); ``n_nan`` random pixels with data get flux NaN (bad pixels the pipeline must catch).
    """
    sigma = np.sqrt(np.maximum(true_flux, 0.05)) / snr * noise_pattern()
    flux = continuum * (true_flux + sigma * rng.standard_normal(true_flux.size))
    err = continuum * sigma
    dead = _chip_of_pixel() < 0    # a fresh array
    dead[edge_pixel_index(edge_counts)] = True
    if no_data is not None:
        dead |= no_data
    flux[dead], err[dead] = GAP_FLUX, GAP_ERROR
    if n_nan:
        flux[rng.choice(np.flatnonzero(~dead), size=n_nan, replace=False)] = np.nan
    return flux.astype(np.float32), err.astype(np.float32)
