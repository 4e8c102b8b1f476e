"""Mock APOGEE spectra: a synthetic line list, true normalized flux, instrument continuum, noise.

The true normalized flux is exp(-tau) with tau a sum of Gaussian lines whose optical depths are
log-linear in (Teff, logg, [Fe/H], [alpha/M]); four kinds of line (iron, alpha-element,
molecular CN/CO-like and gravity-sensitive) respond differently to the labels. No line absorbs
at The Cannon's continuum pixels (``apogee_grid.continuum_pixels()``): the true normalized flux
is exactly 1 there. The observed flux is that times a smooth per-chip instrument continuum
(quadratic Chebyshev series in wavelength across each chip) plus Gaussian noise set by the SNR.
"""

from functools import lru_cache

import numpy as np
from numpy.polynomial import chebyshev

from spectroparallax.spectra import apogee_grid

#: Pixels per chip edge that are zero in (nearly) every star: chip 1 blue/red edge, chip 2, chip 3.
EDGE_PIXELS = (8, 8, 8, 7, 8, 7)
#: Flux and error that real aspcapStar files carry in chip gaps and dead pixels.
GAP_FLUX, GAP_ERROR = 0.0, 1e10

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
    in_chip = np.flatnonzero(apogee_grid.chip_of_pixel() >= 0)
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
def _profiles(n_lines: int, seed: int) -> np.ndarray:
    """Unit-depth line profiles (n_lines, 8575), zero at continuum pixels and in chip gaps."""
    lines = line_list(n_lines, seed)
    pix = np.arange(apogee_grid.N_PIXELS)
    prof = np.exp(-0.5 * ((pix[None, :] - lines["center"][:, None]) / lines["width"][:, None]) ** 2)
    prof[prof < 1e-4] = 0.0
    prof[:, apogee_grid.continuum_pixels()] = 0.0
    prof[:, apogee_grid.chip_of_pixel() < 0] = 0.0
    return prof.astype(np.float32)


def line_depths(teff, logg, fe_h, alpha_m, n_lines=300, line_seed=1):
    """Central optical depth of every line for every star, shape (n, n_lines)."""
    lines = line_list(n_lines, line_seed)
    x = np.stack([(np.asarray(teff, float) - 4500.0) / 500.0, np.asarray(logg, float) - 2.0,
                  np.asarray(fe_h, float), np.asarray(alpha_m, float)], axis=-1)
    return np.exp(np.clip(lines["ln_tau0"] + np.atleast_2d(x) @ lines["slopes"].T, -20.0, np.log(5.0)))


def true_normalized_flux(teff, logg, fe_h, alpha_m, n_lines=300, line_seed=1):
    """Noise-free continuum-normalized flux, shape (n, 8575) float32, for labels of n stars.

    teff [K], logg [dex], fe_h and alpha_m [dex]. Exactly 1 at the continuum pixels and in the
    chip gaps. ``n_lines`` and ``line_seed`` select the synthetic line list (mock config).
    """
    tau = line_depths(teff, logg, fe_h, alpha_m, n_lines, line_seed).astype(np.float32)
    return np.exp(-(tau @ _profiles(n_lines, line_seed)))


def draw_continuum_coefficients(n, rng, amplitude):
    """Per-star, per-chip Chebyshev coefficients (n, 3 chips, 3 terms) of the instrument continuum.

    Constant term ~ 1 with log-normal scatter ``amplitude``; linear and quadratic terms of
    typical size ``amplitude`` / 2 across a chip (so the continuum varies by a few percent).
    """
    c = rng.normal(0.0, amplitude / 2.0, size=(n, 3, 3))
    c[:, :, 0] = np.exp(rng.normal(0.0, amplitude, size=(n, 1)) + rng.normal(0.0, amplitude / 3.0, (n, 3)))
    return c


def instrument_continuum(coeffs):
    """Instrument continuum (n, 8575) for Chebyshev coefficients ``coeffs`` (n, 3, 3).

    On chip k the continuum is sum_j coeffs[:, k, j] T_j(x), x mapping the chip's wavelength
    range ``apogee_grid.CHIPS[k]`` linearly onto [-1, 1]. It is 1 in the chip gaps.
    """
    coeffs = np.asarray(coeffs, dtype=float)
    wl = apogee_grid.wavelength()
    chip = apogee_grid.chip_of_pixel()
    out = np.ones((coeffs.shape[0], apogee_grid.N_PIXELS))
    for k, (lo, hi) in enumerate(apogee_grid.CHIPS):
        sel = chip == k
        x = (2.0 * wl[sel] - (lo + hi)) / (hi - lo)
        out[:, sel] = chebyshev.chebval(x, coeffs[:, k, :].T)
    return out


def edge_pixel_index(edge_counts):
    """Pixel indices zeroed at the chip edges for one star, given its 6 per-edge counts."""
    chip = apogee_grid.chip_of_pixel()
    idx = []
    for k in range(3):
        pix = np.flatnonzero(chip == k)
        idx.append(pix[: edge_counts[2 * k]])
        idx.append(pix[pix.size - edge_counts[2 * k + 1]:])
    return np.concatenate(idx)


@lru_cache(maxsize=1)
def noise_pattern() -> np.ndarray:
    """Relative per-pixel noise (8575,): mean ~1, rising towards chip edges (fixed for all stars)."""
    wl = apogee_grid.wavelength()
    chip = apogee_grid.chip_of_pixel()
    pattern = np.ones(apogee_grid.N_PIXELS)
    for k, (lo, hi) in enumerate(apogee_grid.CHIPS):
        sel = chip == k
        x = (2.0 * wl[sel] - (lo + hi)) / (hi - lo)
        pattern[sel] = 0.9 + 0.4 * x**8
    return pattern


def observe_spectrum(true_flux, continuum, snr, edge_counts, n_nan, rng):
    """One star's observed (flux, error), float32 (8575,), in aspcapStar conventions.

    flux = continuum * (true_flux + noise) with noise sigma = sqrt(true_flux) / snr times
    :func:`noise_pattern`; chip gaps and the star's zeroed edge pixels carry flux 0 and error
    1e10; ``n_nan`` random in-chip pixels get flux NaN (bad pixels the pipeline must catch).
    """
    sigma = np.sqrt(np.maximum(true_flux, 0.05)) / snr * noise_pattern()
    flux = continuum * (true_flux + sigma * rng.standard_normal(true_flux.size))
    err = continuum * sigma
    dead = apogee_grid.chip_of_pixel() < 0
    dead[edge_pixel_index(edge_counts)] = True
    flux[dead], err[dead] = GAP_FLUX, GAP_ERROR
    if n_nan:
        flux[rng.choice(np.flatnonzero(~dead), size=n_nan, replace=False)] = np.nan
    return flux.astype(np.float32), err.astype(np.float32)
