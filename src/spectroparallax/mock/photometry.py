"""Observed magnitudes of the mock: measurement noise and contaminated (blended) photometry."""

import numpy as np


def tmass_error(mag):
    """2MASS-like photometric uncertainty [mag] at magnitude ``mag`` (J, H or Ks)."""
    return np.sqrt(0.02**2 + (0.03 * 10.0 ** (0.4 * (mag - 13.0))) ** 2)


def wise_error(mag):
    """AllWISE-like profile-fit uncertainty [mag] at magnitude ``mag`` (W1 or W2)."""
    return np.sqrt(0.022**2 + (0.02 * 10.0 ** (0.4 * (mag - 12.0))) ** 2)


def gaia_flux_relative_error(mag, band):
    """Relative uncertainty of a Gaia DR2 mean flux (G tighter than BP and RP)."""
    floor = 0.001 if band == "G" else 0.004
    return floor * (1.0 + 10.0 ** (0.4 * (np.minimum(mag, 25.0) - 17.0)))


def observe(true_mags, rng, contamination_fraction):
    """Noisy observed magnitudes and their errors (dicts band -> array) plus contamination flags.

    A fraction ``contamination_fraction`` of stars has corrupted photometry, as blends and bad
    WISE measurements do in the real catalogues: in 60 percent of them Ks is too bright by
    0.25-0.8 mag (a 2MASS blend), in 40 percent W2 is too faint by 0.3-1.0 mag. Returns
    (mags, errors, k_blended, w2_bad).
    """
    n = true_mags["H"].size
    mags, errs = {}, {}
    for band in ("J", "H", "K"):
        errs[band] = tmass_error(true_mags[band])
    for band in ("W1", "W2"):
        errs[band] = wise_error(true_mags[band])
    for band in ("G", "BP", "RP"):
        errs[band] = 1.0857 * gaia_flux_relative_error(true_mags[band], band)
    for band, e in errs.items():
        mags[band] = true_mags[band] + e * rng.standard_normal(n)
    bad = rng.random(n) < contamination_fraction
    k_blended = bad & (rng.random(n) < 0.6)
    w2_bad = bad & ~k_blended
    mags["K"] = mags["K"] - np.where(k_blended, rng.uniform(0.25, 0.8, n), 0.0)
    mags["W2"] = mags["W2"] + np.where(w2_bad, rng.uniform(0.3, 1.0, n), 0.0)
    return mags, errs, k_blended, w2_bad
