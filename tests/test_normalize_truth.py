"""The continuum normalization against the mock's truth: its bias, measured and bounded.

The mock's instrument continuum is not of the normalizer's family (a blaze x spline per chip, not
a quadratic Chebyshev), and weak lines absorb at some continuum pixels, as in real giants. So the
normalization cannot be exact; this test states by how much it is off and holds it there.
"""

import numpy as np
import pytest

from spectroparallax.mock import instrument_continuum, simulate_catalog, true_normalized_flux
from spectroparallax.mock.spectra import noise_pattern
from spectroparallax.spectra import apogee_grid
from spectroparallax.spectra.normalize import normalize

#: Two-sided bands, about 3 sigma of the measured values (see the test's docstring).
MEDIAN_BAND = (0.0007, 0.0011)
SCATTER_BAND = (0.0032, 0.00345)


@pytest.fixture(scope="module")
def normalized_vs_truth(config):
    """(normalized - true) at the unmasked in-chip pixels of 300 noise-free mock spectra."""
    allstar, _, truth = simulate_catalog(1000, 1)
    ok = np.flatnonzero(np.asarray(truth["spectrum_status"]) == "ok")[:300]
    t, snr = truth[ok], np.asarray(allstar["SNR"], float)[ok]
    mock = config["mock"]
    true = true_normalized_flux(t["teff"], t["logg"], t["fe_h"], t["alpha_m"], mock["n_lines"], mock["line_seed"],
                                mock["weak_lines"], mock["weak_line_depth"]).astype(float)
    continuum = instrument_continuum(t["continuum_params"])
    # No noise: the flux is exactly continuum x truth, so only the model mismatch is left; the
    # errors (the fit's weights and the masking) are the mock's for each star's S/N.
    sigma = np.sqrt(np.maximum(true, 0.05)) / snr[:, None] * noise_pattern()
    flux, err = continuum * true, continuum * sigma
    gap = apogee_grid.chip_of_pixel() < 0
    flux[:, gap], err[:, gap] = 0.0, 1e10
    sp = config["spectra"]
    out = normalize(flux.astype(np.float32), err.astype(np.float32), degree=sp["chebyshev_degree"],
                    max_normalized_error=sp["max_normalized_error"], bad_pixel_error=sp["bad_pixel_error"],
                    min_continuum_pixels=sp["min_continuum_pixels"], grow=sp["mask_grow"])
    assert np.all(out.chip_status == "ok")
    used = (out.err < sp["max_normalized_error"]) & ~gap
    return (out.flux - true)[used]


def test_normalization_bias_against_the_mock_truth_is_bounded(normalized_vs_truth):
    """Median and robust scatter of (normalized - true) over pixels and stars, noise-free.

    Measured on 300 stars of simulate_catalog(1000, seed) with the default mock and spectra
    config: median +0.00090, scatter 0.00331 (seed 1, this test); over seeds 1-6 the median is
    0.00091 +- 0.00006 and the scatter 0.00331 +- 0.00004 (mean +- sd between seeds), so the
    bands are about 3 sigma wide. The bias is positive: the weak lines at the continuum pixels pull
    the fitted continuum down by ~0.1 percent; the scatter is the spline's wiggles (and the blaze's
    shape) that a quadratic cannot follow. Were the mock's continuum the normalizer's own family (a
    quadratic Chebyshev per chip, no absorption at continuum pixels), both would be ~1e-8, far
    below the bands' lower edges; a larger mismatch (or a broken fit) lands above them.
    """
    d = normalized_vs_truth
    median = np.median(d)
    scatter = 1.4826 * np.median(np.abs(d - median))
    assert MEDIAN_BAND[0] < median < MEDIAN_BAND[1], median
    assert SCATTER_BAND[0] < scatter < SCATTER_BAND[1], scatter
