"""The APOGEE apStar/aspcapStar wavelength grid and its three detector chips.

These are facts of the instrument and its pipeline, not choices of the paper: every combined
APOGEE spectrum has 8575 pixels on log10(lambda / Angstrom) = 4.179 + 6e-6 * i (vacuum,
rest frame), and the three chips cover the ranges in ``CHIPS``; everything else is a chip gap.
"""

from importlib import resources

import numpy as np

N_PIXELS = 8575
LOG10_LAMBDA_START = 4.179
LOG10_LAMBDA_STEP = 6e-6
#: Wavelength ranges of the blue, green and red chips [Angstrom].
CHIPS = ((15150.0, 15800.0), (15890.0, 16430.0), (16490.0, 16950.0))


def wavelength() -> np.ndarray:
    """Return the vacuum wavelength of every pixel [Angstrom], shape (8575,)."""
    return 10.0 ** (LOG10_LAMBDA_START + LOG10_LAMBDA_STEP * np.arange(N_PIXELS))


def chip_of_pixel() -> np.ndarray:
    """Return, per pixel, the chip index 0, 1, 2, or -1 for pixels outside every chip."""
    wl = wavelength()
    chip = np.full(N_PIXELS, -1, dtype=np.int8)
    for k, (lo, hi) in enumerate(CHIPS):
        chip[(wl >= lo) & (wl <= hi)] = k
    return chip


def continuum_pixels() -> np.ndarray:
    """Return the pseudo-continuum pixel indices (The Cannon, DR13 list), sorted, unique.

    The list ships with the package (``data/continuum_pixels_dr13.txt``); some of its 2499
    indices fall in chip gaps, so callers that fit a continuum per chip should intersect it
    with :func:`chip_of_pixel`.
    """
    text = resources.files("spectroparallax.spectra").joinpath("data/continuum_pixels_dr13.txt").read_text()
    return np.unique(np.array(text.split(), dtype=np.int64))
