"""Gaia DR2-like astrometry and photometry of the mock: errors, quality columns, fluxes.

Parallax uncertainties follow a median-versus-G curve (piecewise linear in log sigma) times a
log-normal star-to-star factor that is larger for stars with few visibility periods and in
crowded low-latitude fields. The unit-weight error of the astrometric fit is larger for bright
stars (the DR2 calibration floor) and in crowded fields, which is what makes the paper's eq. 10
remove stars.
"""

import numpy as np

#: Gaia DR2 photometric zero points [mag] (Evans et al. 2018), flux in e-/s.
FLUX_ZERO_POINTS = {"G": 25.6884, "BP": 25.3514, "RP": 24.7619}


def median_parallax_error(g, knots_g, knots_sigma):
    """Median DR2 parallax uncertainty [mas] at G magnitude ``g``: log-linear between knots."""
    return np.exp(np.interp(g, knots_g, np.log(knots_sigma)))


def draw_visibility_periods(ecl_lat, rng):
    """visibility_periods_used: more at high ecliptic latitude (the scanning law), 3..25."""
    mean = 9.5 + 4.0 * np.abs(np.sin(np.deg2rad(ecl_lat)))
    return np.clip(np.round(rng.normal(mean, 2.5)), 3, 25).astype(np.int16)


def draw_astrometry_quality(g, glat, vpu, rng, knots_g, knots_sigma, error_scatter):
    """Parallax and proper-motion errors and the eq. 9-10 quality columns.

    Returns a dict: parallax_error [mas], pm_error [mas/yr], astrometric_n_good_obs_al,
    astrometric_chi2_al. ``error_scatter`` is the log-normal width of the star-to-star factor
    on the parallax error.
    """
    n = g.size
    crowd = np.exp(-np.abs(glat) / 3.0)                    # 1 in the plane, ~0 at high latitude
    factor = np.exp(rng.normal(0.0, error_scatter, n) + 0.2 * crowd - 0.04 * (vpu - 11))
    plx_err = median_parallax_error(g, knots_g, knots_sigma) * factor
    pm_err = plx_err * rng.uniform(1.1, 1.9, n)
    n_obs = np.maximum(np.round(vpu * rng.normal(22.0, 4.0, n) * (1 - 0.3 * crowd)), 30).astype(np.int32)
    uwe_median = 1.05 + 0.18 * np.clip(13.0 - g, 0.0, None) + 0.3 * crowd
    uwe = uwe_median * np.exp(rng.normal(0.0, 0.18, n))
    binaries = rng.random(n) < 0.05
    uwe[binaries] *= rng.uniform(1.5, 5.0, binaries.sum())
    chi2 = (uwe**2 * (n_obs - 5)).astype(np.float32)
    return {"parallax_error": plx_err, "pm_error": pm_err, "astrometric_n_good_obs_al": n_obs,
            "astrometric_chi2_al": chi2}


def mag_to_flux(mag, band):
    """Gaia mean flux [e-/s] of magnitude ``mag`` in band G, BP or RP."""
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - FLUX_ZERO_POINTS[band]))


def ecliptic_latitude(ra, dec):
    """Ecliptic latitude [deg] of ICRS (ra, dec) [deg] (J2000 obliquity; enough for scan counts)."""
    eps = np.deg2rad(23.4393)
    ra, dec = np.deg2rad(ra), np.deg2rad(dec)
    s = np.sin(dec) * np.cos(eps) - np.cos(dec) * np.sin(eps) * np.sin(ra)
    return np.rad2deg(np.arcsin(np.clip(s, -1, 1)))


#: Seeds the random_index draw apart from the simulator's own stream (with the mock's seed), so
#: adding the column moved no other mock value.
RANDOM_INDEX_STREAM = 0x6A1A


def random_index(is_source, seed):
    """gaia_source.random_index for the candidate stars flagged by ``is_source``.

    The Gaia Archive's random_index is a random permutation of 0..N-1 over the N sources of the
    table, one distinct value per source (long). Returns an int64 array like ``is_source``: the
    N flagged stars get such a permutation, the others -1 (no Gaia source, never written).
    """
    is_source = np.asarray(is_source, dtype=bool)
    out = np.full(is_source.shape, -1, dtype=np.int64)
    out[is_source] = np.random.default_rng([seed, RANDOM_INDEX_STREAM]).permutation(int(is_source.sum()))
    return out
