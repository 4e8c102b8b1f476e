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


def add_shared_neighbour_mates(table, fraction, rng):
    """Append, for a random ``fraction`` of the Gaia rows, a second Gaia source that shares the
    row's 2MASS best neighbour; return (table with the mates, indices of the rows that got one).

    The archive's match runs from Gaia to 2MASS: each Gaia source has at most one best neighbour,
    but several Gaia sources can share one 2MASS source (number_of_mates > 0), so a query on the
    designation returns one row per Gaia source (gaia_archive.md, sec. 2). A mate here is a fainter
    star inside the 2MASS image (0.5-2 arcsec away, 2-5 mag fainter in G, BP and RP), with its own
    source_id and a distant star's astrometry (parallax 0.02-0.3 mas, errors as for its G); it
    keeps the row's 2MASS and AllWISE neighbours. The rows come back in a random order.
    """
    from astropy.table import vstack

    n = len(table)
    idx = np.sort(rng.choice(n, size=int(round(fraction * n)), replace=False))
    mates = table[idx].copy()
    m = idx.size

    def put(name, values):          # new values; the column's dtype, unit, text and mask stay
        col = mates[name]
        col[:] = np.asarray(values).astype(col.dtype)
        if hasattr(table[name], "mask"):
            col.mask = np.asarray(table[name].mask)[idx]

    d_g = rng.uniform(2.0, 5.0, m)
    for band in ("g", "bp", "rp"):
        scale = 10.0 ** (-0.4 * d_g)
        put(f"phot_{band}_mean_mag", np.asarray(mates[f"phot_{band}_mean_mag"]) + d_g)
        put(f"phot_{band}_mean_flux", np.asarray(mates[f"phot_{band}_mean_flux"]) * scale)
        put(f"phot_{band}_mean_flux_error", np.asarray(mates[f"phot_{band}_mean_flux_error"]) * np.sqrt(scale))
    sep = rng.uniform(0.5, 2.0, m) / 3600.0
    angle = rng.uniform(0.0, 2.0 * np.pi, m)
    dec = np.asarray(mates["dec"]) + sep * np.cos(angle)
    put("ra", (np.asarray(mates["ra"]) + sep * np.sin(angle) / np.cos(np.deg2rad(dec))) % 360.0)
    put("dec", dec)
    fainter = 10.0 ** (0.2 * d_g)
    plx_err = np.ma.filled(np.ma.asarray(mates["parallax_error"], float), 1.0) * fainter
    plx = rng.uniform(0.02, 0.3, m) + plx_err * rng.standard_normal(m)
    put("parallax_error", plx_err)
    put("parallax", plx)
    put("parallax_over_error", plx / plx_err)
    for c in ("pmra", "pmdec"):
        err = np.ma.filled(np.ma.asarray(mates[f"{c}_error"], float), 1.0) * fainter
        put(f"{c}_error", err)
        put(c, rng.normal(0.0, 3.0, m) + err * rng.standard_normal(m))
    put("phot_variable_flag", np.full(m, "NOT_AVAILABLE"))
    new = np.setdiff1d(rng.integers(10**17, 6_900_000_000_000_000_000, size=2 * m + 10, dtype=np.int64),
                       np.asarray(table["source_id"]))
    mates["source_id"] = rng.permutation(new)[:m]
    if "random_index" in mates.colnames:   # distinct for every source: the mates take the next values
        mates["random_index"] = np.asarray(table["random_index"]).max() + 1 + np.arange(m)
    out = vstack([table, mates], metadata_conflicts="silent")
    return out[rng.permutation(len(out))], idx
