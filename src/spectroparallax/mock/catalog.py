"""The fast part of the mock survey: every catalogue (allStar, Gaia cross-match, truth) as arrays.

No files are written here; :func:`simulate_catalog` returns astropy Tables, so calibration
statistics can be checked on tens of thousands of rows in seconds. The spectra are generated
from the truth table when the survey is written (see :mod:`.survey`).
"""

import numpy as np
import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table

from spectroparallax.archives.columns import GAIA_COLUMNS

from . import clusters, extinction, galaxy, gaia, gaia_file, photometry, spectra, stars

#: EXTRATARG bit 4 (value 16): "Non-primary (not highest S/N) duplicate"; bit 3 (value 8): APO1M
#: (sas_layout.md sec. 3, [AP] bitmask.py; the same layout in DR14 is unverified).
EXTRATARG_DUPLICATE, EXTRATARG_APO1M = 16, 8
#: DR14/DR16 placeholder of a missing ASPCAP (and 2MASS error) value (sas_layout.md sec. 7).
ALLSTAR_MISSING = -9999.0
#: ASPCAP quantities DR17 leaves NaN when missing ([AP] add_named_tags, sas_layout.md sec. 7); the
#: other missing values stay -9999.
DR17_NAN_COLUMNS = ("TEFF", "LOGG", "M_H", "ALPHA_M")
#: FIELDs of the mock's 1-m rows (bright stars; real apo1m fields have their own names).
APO1M_FIELDS = ("1m_calib", "1m_bright-1", "1m_bright+2")
#: Non-2MASS APOGEE_IDs of a few DR17 1-m stars (real DR17 IDs run to 30 characters).
LONG_ID_PREFIX, LONG_ID_SUFFIX = "AP1M_", "_BRIGHT"

_ANGLE, _MAG = "deg", "mag"
#: The mock's allStar columns, HDU 1 (sas_layout.md sec. 7): name -> (dtype per release dr14,
#: dr16, dr17; unit; description). Strings are FITS char[n] of the sheet's widths.
ALLSTAR_SPEC = {
    "APOGEE_ID": (("U18", "U18", "U30"), None, "APOGEE object name (2M + 2MASS designation for 2MASS stars)"),
    "TELESCOPE": (("U8", "U8", "U6"), None, "telescope: apo25m, apo1m or lco25m (DR16 on)"),
    "LOCATION_ID": (("i2", "i4", "i4"), None, "APOGEE plate location ID of the field (1 for apo1m)"),
    "FIELD": (("U16", "U16", "U20"), None, "APOGEE field name (a path level of the aspcapStar file)"),
    "EXTRATARG": (("i2", "i2", "i4"), None, "bitmask: 3 APO1M, 4 lower-S/N duplicate of a star"),
    "FILE": (("U38", "U39", "U64"), None, "apStar file name of the star's combined spectrum"),
    "RA": (("f8",) * 3, _ANGLE, "right ascension (ICRS, 2MASS epoch)"),
    "DEC": (("f8",) * 3, _ANGLE, "declination (ICRS, 2MASS epoch)"),
    "GLON": (("f8",) * 3, _ANGLE, "Galactic longitude"),
    "GLAT": (("f8",) * 3, _ANGLE, "Galactic latitude"),
    "J": (("f4",) * 3, _MAG, "2MASS J"),
    "J_ERR": (("f4",) * 3, _MAG, "2MASS J uncertainty"),
    "H": (("f4",) * 3, _MAG, "2MASS H"),
    "H_ERR": (("f4",) * 3, _MAG, "2MASS H uncertainty"),
    "K": (("f4",) * 3, _MAG, "2MASS Ks"),
    "K_ERR": (("f4",) * 3, _MAG, "2MASS Ks uncertainty (-9999 = missing)"),
    "TEFF": (("f4",) * 3, "K", "ASPCAP effective temperature (missing: -9999, DR17 NaN)"),
    "LOGG": (("f4",) * 3, "dex", "ASPCAP log10 surface gravity [cgs] (missing: -9999, DR17 NaN)"),
    "FE_H": (("f4",) * 3, "dex", "ASPCAP [Fe/H] (missing: -9999)"),
    "ALPHA_M": (("f4",) * 3, "dex", "ASPCAP [alpha/M] (missing: -9999, DR17 NaN)"),
    "M_H": (("f4",) * 3, "dex", "ASPCAP [M/H] (missing: -9999, DR17 NaN)"),
    "SNR": (("f4",) * 3, None, "signal-to-noise ratio per pixel of the combined spectrum"),
    "VHELIO_AVG": (("f4",) * 3, "km / s", "mean heliocentric radial velocity"),
    "ASPCAPFLAG": (("i4", "i4", "i8"), None, "ASPCAP bitmask (bit 23: STAR_BAD)"),
    "STARFLAG": (("i4", "i4", "i8"), None, "apStar bitmask of the combined spectrum"),
}
#: Columns the allStarLite file drops among the mock's (sas_layout.md sec. 2, [AP] trimfile).
LITE_DROPS = ("FILE", "LOCATION_ID")
_RELEASE_INDEX = {"dr14": 0, "dr16": 1, "dr17": 2}


def allstar_spec(release, lite=False):
    """The mock's allStar columns for ``release``: name -> (dtype, unit, description)."""
    if release not in _RELEASE_INDEX:
        raise ValueError(f"mock release {release!r} is not one of {sorted(_RELEASE_INDEX)}")
    i = _RELEASE_INDEX[release]
    return {name: (dtypes[i], unit, desc) for name, (dtypes, unit, desc) in ALLSTAR_SPEC.items()
            if not (lite and name in LITE_DROPS)}

#: The mock's physics knobs and their defaults; config.yaml's ``mock:`` section mirrors these
#: (tests check that the two agree). Units and meanings are documented in config.yaml.
DEFAULT_KNOBS = {
    "parallax_zero_point": 0.048,
    "r0": 8.122,
    "z_sun": 0.025,
    "v_sun": [11.1, 245.8, 7.8],
    "v_circ": 230.0,
    "stars_per_field": 150,
    "field_radius": 1.5,
    "dec_min": -32.0,
    "h_bright": 7.0,
    "h_faint": [11.0, 12.2, 13.8],
    "cohort_fractions": [0.2, 0.7, 0.1],
    "class_fractions": [0.70, 0.12, 0.10, 0.08],
    "upper_rgb_logg_scale": 0.5,
    "mass_scatter": 0.04,
    "dust_av_per_kpc": 0.7,
    "dust_scale_length": 4.5,
    "dust_scale_height": 0.125,
    "dust_patchiness": 0.3,
    "parallax_error_knots_g": [5.0, 14.5, 15.5, 16.5, 17.5, 18.5, 21.0],
    "parallax_error_knots_mas": [0.033, 0.037, 0.053, 0.09, 0.135, 0.19, 0.45],
    "parallax_error_scatter": 0.35,
    "photometry_contamination": 0.02,
    "gaia_missing_fraction": 0.01,
    "gaia_g_limit": 20.8,
    "bp_rp_missing_fraction": 0.015,
    "w2_missing_fraction": 0.015,
    "variable_fraction": 0.03,
    "aspcap_failure_fraction": 0.02,
    "k_err_missing_fraction": 0.005,
    "duplicate_fraction": 0.03,
    "cluster_members": 15,
    "missing_spectrum_fraction": 0.004,
    "nan_spectrum_fraction": 0.02,
    "spectra_logg_range": None,
    "n_lines": 300,
    "line_seed": 1,
    "continuum_amplitude": 0.03,
    "continuum_tilt": spectra.CONTINUUM_TILT,
    "continuum_blaze_depth": spectra.BLAZE_DEPTH,
    "continuum_wiggle": spectra.CONTINUUM_WIGGLE,
    "continuum_knots": spectra.CONTINUUM_KNOTS,
    "weak_lines": spectra.WEAK_LINES,
    "weak_line_depth": spectra.WEAK_LINE_DEPTH,
    "shared_neighbour_fraction": 0.004,
    "apo1m_fraction": 0.01,
    "lco25m_field_fraction": 0.15,
}

#: Epochs of the 2MASS (allStar) and Gaia DR2 positions [yr].
EPOCH_2MASS, EPOCH_GAIA = 2000.0, 2015.5
_D_GRID = np.geomspace(0.02, 25.0, 400)   # distance grid of the sightline integrals [kpc]
_CHUNK = 4000


def check_knobs(knobs):
    """Return DEFAULT_KNOBS updated with ``knobs``; an unknown name is an error naming it."""
    unknown = sorted(set(knobs) - set(DEFAULT_KNOBS))
    if unknown:
        raise ValueError(f"unknown mock knob(s) {unknown}; valid knobs: {sorted(DEFAULT_KNOBS)}")
    return {**DEFAULT_KNOBS, **knobs}


def tmass_designation(ra, dec):
    """2MASS designations 'HHMMSSss+DDMMSSs' (truncated, as 2MASS does) of (ra, dec) [deg]."""
    cs = np.floor(np.asarray(ra) / 15.0 * 360000.0 + 1e-6).astype(np.int64)   # RA in 0.01 s
    ds = np.floor(np.abs(np.asarray(dec)) * 36000.0 + 1e-6).astype(np.int64)   # |Dec| in 0.1"
    sign = np.where(np.asarray(dec) < 0, "-", "+")
    return np.array([
        f"{c // 360000:02d}{c // 6000 % 60:02d}{c % 6000:04d}{s}{e // 36000:02d}{e // 600 % 60:02d}{e % 600:03d}"
        for c, s, e in zip(cs, sign, ds)
    ])


def allwise_designation(ra, dec):
    """AllWISE designations 'JHHMMSS.SS+DDMMSS.S' of (ra, dec) [deg]."""
    t = tmass_designation(ra, dec)
    return np.array([f"J{x[:6]}.{x[6:8]}{x[8:15]}.{x[15]}" for x in t])


def _source_ids(n, rng):
    """Distinct random 64-bit Gaia-like source identifiers."""
    ids = np.unique(rng.integers(10**17, 6_900_000_000_000_000_000, size=2 * n + 10, dtype=np.int64))
    return rng.permutation(ids)[:n]


def _distance_weights(l, b, pop, m_h, h_lo, h_hi, dust_factor, k):
    """Sample-selection weights on the distance grid, and A_V along it, for a chunk of stars."""
    R, z = galaxy.galactocentric_cylindrical(l[:, None], b[:, None], _D_GRID[None, :], k["r0"], k["z_sun"])
    a_v = dust_factor[:, None] * extinction.cumulative_av(
        R, z, _D_GRID, av_per_kpc=k["dust_av_per_kpc"], scale_length=k["dust_scale_length"],
        scale_height=k["dust_scale_height"], r0=k["r0"])
    h_app = m_h[:, None] + 5.0 * np.log10(_D_GRID * 100.0)[None, :] + extinction.EXTINCTION_RATIOS["H"] * a_v
    dens = np.zeros_like(R)
    for p in galaxy.POPULATIONS:
        sel = pop == p
        dens[sel] = galaxy.population_density(p, R[sel], z[sel], k["r0"])
    w = dens * _D_GRID[None, :] ** 3 * ((h_app >= h_lo[:, None]) & (h_app <= h_hi[:, None]))
    return w, a_v


def _draw_distances(l, b, pop, m_h, h_lo, h_hi, dust_factor, rng, k):
    """Distance [kpc] and A_V [mag] per star from p(d) ~ density * d^2 * selection(H(d)).

    Returns (d, a_v, ok); ok is False where no distance puts the star inside its H limits.
    """
    n = l.size
    d, a_v, ok = np.empty(n), np.empty(n), np.zeros(n, bool)
    dln = np.log(_D_GRID[1] / _D_GRID[0])
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        w, av = _distance_weights(l[sl], b[sl], pop[sl], m_h[sl], h_lo[sl], h_hi[sl], dust_factor[sl], k)
        tot = w.sum(axis=1)
        ok[sl] = tot > 0
        cdf = np.cumsum(w, axis=1) / np.where(tot > 0, tot, 1.0)[:, None]
        idx = np.minimum((cdf < rng.random(w.shape[0])[:, None]).sum(axis=1), _D_GRID.size - 1)
        frac = rng.uniform(-0.5, 0.5, idx.size)
        d[sl] = _D_GRID[idx] * np.exp(frac * dln)
        rows = np.arange(idx.size)
        nb = np.clip(idx + np.where(frac < 0, -1, 1), 0, _D_GRID.size - 1)
        a_v[sl] = av[rows, idx] + np.abs(frac) * (av[rows, nb] - av[rows, idx])
    return d, a_v, ok


def _population_probabilities(fl, fb, k):
    """Per field, the probability that a selected giant belongs to thin disk, thick disk, bulge."""
    m_h = np.full(fl.size, -2.5)
    w = np.stack([
        _distance_weights(fl, fb, np.full(fl.size, p), m_h, np.full(fl.size, k["h_bright"]),
                          np.full(fl.size, k["h_faint"][1]), np.ones(fl.size), k)[0].sum(axis=1)
        for p in galaxy.POPULATIONS], axis=1)
    return w / w.sum(axis=1, keepdims=True)


def _field_stars(n, rng, k):
    """Draw the distinct field stars: positions, labels, distances, extinction (dict of arrays)."""
    n_fields = max(6, int(round(n / k["stars_per_field"])))
    fl, fb, floc = galaxy.draw_fields(n_fields, rng, k["dec_min"], k["field_radius"])
    fidx = rng.integers(n_fields, size=n)
    l, b = galaxy.scatter_in_field(fl[fidx], fb[fidx], k["field_radius"], rng)
    cohort = rng.choice(len(k["h_faint"]), size=n, p=k["cohort_fractions"])
    h_hi = np.asarray(k["h_faint"], float)[cohort]
    h_lo = np.full(n, k["h_bright"])
    dust = np.exp(rng.normal(0.0, k["dust_patchiness"], n_fields))[fidx] * np.exp(rng.normal(0.0, 0.1, n))
    pprob = _population_probabilities(fl, fb, k)[fidx]
    pop = np.array(galaxy.POPULATIONS)[(rng.random(n)[:, None] > np.cumsum(pprob, axis=1)).sum(axis=1)]
    cls = np.array(stars.STAR_CLASSES)[rng.choice(4, size=n, p=k["class_fractions"])]

    labels = {key: np.empty(n) for key in ("teff", "logg", "fe_h", "alpha_m", "mass")}
    d, a_v = np.empty(n), np.empty(n)
    todo = np.arange(n)
    for _ in range(50):
        lab = stars.draw_labels(cls[todo], pop[todo], rng, k["mass_scatter"], k["upper_rgb_logg_scale"])
        m_h = stars.absolute_magnitudes(lab["teff"], lab["logg"], lab["fe_h"], lab["mass"])["H"]
        dd, av, ok = _draw_distances(l[todo], b[todo], pop[todo], m_h, h_lo[todo], h_hi[todo], dust[todo], rng, k)
        for key in labels:
            labels[key][todo[ok]] = lab[key][ok]
        d[todo[ok]], a_v[todo[ok]] = dd[ok], av[ok]
        todo = todo[~ok]
        if todo.size == 0:
            break
    else:
        raise RuntimeError(f"{todo.size} mock stars found no distance inside their H limits; "
                           "check the mock's h_bright/h_faint and dust knobs")
    return {"l": l, "b": b, "field": fidx, "field_l": fl, "field_b": fb, "location_id": floc[fidx],
            "field_location_ids": floc, "h_faint": h_hi, "population": pop, "star_class": cls,
            "distance": d, "a_v": a_v, "cluster": np.full(n, ""), **labels}


def _field_names(field_l, field_b):
    """APOGEE-like FIELD names "<l><+b>" (e.g. 064+42, 000+02) of the field centres, unique: a
    second field that rounds to the same name gets the suffix _2 (real names carry such suffixes,
    e.g. 064+42_MGA)."""
    names, seen = [], set()
    for l, b in zip(field_l, field_b):
        base = f"{int(round(l)) % 360:03d}{int(round(b)):+03d}"
        name, i = base, 2
        while name in seen:
            name, i = f"{base}_{i}", i + 1
        seen.add(name)
        names.append(name)
    return np.array(names)


def _cluster_stars(n_each, rng, k):
    """Members of the three clusters (upper-RGB giants, true logg 0.5-2.15), laid out as field stars."""
    parts = []
    for name in clusters.CLUSTERS:
        m = clusters.draw_members(name, n_each, rng)
        cls = np.full(n_each, "upper_rgb")
        lab = stars.draw_labels(cls, np.full(n_each, "thin"), rng, k["mass_scatter"], k["upper_rgb_logg_scale"])
        lab["fe_h"], lab["alpha_m"] = m["fe_h"], m["alpha_m"]
        lab["logg"] = rng.uniform(0.5, 2.15, n_each)      # members chosen among the luminous giants
        lab["teff"] = stars.rgb_teff(lab["logg"], m["fe_h"], m["alpha_m"]) + rng.normal(0, 40.0, n_each)
        lab["mass"] = stars.mass_from_chemistry(m["fe_h"], m["alpha_m"], rng, k["mass_scatter"])
        parts.append({**m, **lab, "star_class": cls, "cluster": np.full(n_each, name),
                      "population": np.full(n_each, "cluster")})
    out = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    gal = SkyCoord(ra=out["ra"] * u.deg, dec=out["dec"] * u.deg, frame="icrs").galactic
    out["l"], out["b"] = gal.l.deg, gal.b.deg
    out["h_faint"] = np.full(out["ra"].size, k["h_faint"][1])
    return out


def _cluster_kinematics(cl, k):
    """Galactocentric x, y, z [kpc] of cluster members (their velocities are the cluster's)."""
    frame = galaxy.galactocentric_frame(k["r0"], k["z_sun"], k["v_sun"])
    c = SkyCoord(ra=cl["ra"] * u.deg, dec=cl["dec"] * u.deg, distance=cl["distance"] * u.kpc).transform_to(frame)
    return c.cartesian.xyz.to_value(u.kpc)


def _masked(values, mask, dtype):
    """A MaskedColumn of ``values`` cast to ``dtype`` with ``mask`` (True = missing)."""
    return MaskedColumn(np.asarray(values).astype(dtype), mask=np.asarray(mask, bool))


def _telescopes(release, rows, is_dup, loc, field, h_mag, in_cluster, lco_locations, fraction_1m, rng):
    """Each row's telescope, LOCATION_ID and FIELD, and which rows carry a long (non-2MASS) ID.

    lco25m (DR16/DR17): every row of the fields in ``lco_locations``. apo1m (all releases): a
    fraction ``fraction_1m`` of the rows, the brightest in H (real 1-m targets are bright stars),
    each star's repeat observation first (a star seen by two telescopes), never both rows of one
    star; they get LOCATION_ID 1 and one of :data:`APO1M_FIELDS` (sas_layout.md sec. 3). DR17:
    half of the 1-m rows of stars observed once get a long non-2MASS ID. ``rng`` is the new
    randomness's own stream, so the other draws of the catalogue do not move.
    """
    nr = rows.size
    tel = np.full(nr, "apo25m", dtype="U8")
    loc, field = loc.copy(), field.astype("U20")
    if release != "dr14":
        tel[np.isin(loc, lco_locations)] = "lco25m"
    n_1m = int(round(fraction_1m * nr))
    observed_twice = np.isin(rows, rows[is_dup])
    eligible = np.flatnonzero((tel == "apo25m") & ~in_cluster & (is_dup | ~observed_twice))
    bright = eligible[np.argsort(h_mag[eligible], kind="stable")][:4 * n_1m]
    pick = np.concatenate([bright[is_dup[bright]], rng.permutation(bright[~is_dup[bright]])])[:n_1m]
    tel[pick] = "apo1m"
    loc[pick] = 1
    field[pick] = rng.choice(APO1M_FIELDS, size=pick.size)
    long_id = np.zeros(nr, dtype=bool)
    if release == "dr17":
        single = pick[~observed_twice[pick]]
        long_id[rng.choice(single, size=(single.size + 1) // 2, replace=False)] = True
    return tel, loc, field, long_id


def _southern_fields(field_l, field_b, field_locations, fraction):
    """LOCATION_IDs of the southernmost ``fraction`` of the fields (by the centre's declination)."""
    dec = SkyCoord(l=field_l * u.deg, b=field_b * u.deg, frame="galactic").icrs.dec.deg
    return field_locations[np.argsort(dec, kind="stable")[:int(round(fraction * field_locations.size))]]


def simulate_catalog(n_stars, seed, *, release="dr14", apred="r8", gaia_release="dr2", **knobs):
    """Simulate the mock survey's catalogues: returns (allstar, gaia, truth) astropy Tables.

    ``n_stars`` allStar rows (including the clusters' members and repeated observations),
    deterministic in ``seed``. ``release`` (dr14, dr16, dr17) sets the columns' dtypes, the
    missing-value convention and which telescopes appear (:func:`allstar_spec`, :func:`_telescopes`);
    ``apred`` is the APOGEE reduction version used in FILE names.
    ``knobs`` override :data:`DEFAULT_KNOBS` (config.yaml ``mock:``). ``truth`` has one row per
    allStar row, in the same order. ``gaia_release`` "dr3" writes the DR3 query's extra columns and
    puts :func:`.gaia_file.mock_zero_point` (truth column parallax_zero_point_true) into the
    parallaxes instead of the DR2 constant ``parallax_zero_point``.
    """
    k = check_knobs(knobs)
    spec = allstar_spec(release)
    dr3 = gaia_release == "dr3"
    rng = np.random.default_rng(seed)
    n_cl = 3 * k["cluster_members"]
    if n_stars < n_cl + 50:
        raise ValueError(f"mock n_stars={n_stars} is too small: it must exceed 3 x cluster_members + 50 "
                         f"= {n_cl + 50}; raise mock.n_stars or lower mock.cluster_members")
    n_field_rows = n_stars - n_cl
    n_dup = int(round(k["duplicate_fraction"] * n_field_rows))
    n_uniq = n_field_rows - n_dup

    fs = _field_stars(n_uniq, rng, k)
    kin = galaxy.positions_and_kinematics(fs["l"], fs["b"], fs["distance"], fs["population"], rng,
                                          k["r0"], k["z_sun"], k["v_sun"], k["v_circ"])
    fs.update(kin)
    cl = _cluster_stars(k["cluster_members"], rng, k)
    cl["x"], cl["y"], cl["z"] = _cluster_kinematics(cl, k)
    cl_loc = np.setdiff1d(np.arange(4000, 10000), fs["field_location_ids"])
    cl_loc = rng.choice(cl_loc, size=3, replace=False)
    cl["location_id"] = np.repeat(cl_loc, k["cluster_members"])

    keys = ["ra", "dec", "l", "b", "distance", "a_v", "teff", "logg", "fe_h", "alpha_m", "mass",
            "star_class", "population", "cluster", "location_id", "x", "y", "z", "pmra", "pmdec", "rv", "h_faint"]
    s = {key: np.concatenate([fs[key], cl[key]]) for key in keys}
    n = s["ra"].size

    # Distinct 2MASS names: nudge the rare collisions by 0.02 s of RA.
    ids = tmass_designation(s["ra"], s["dec"])
    while len(set(ids)) < n:
        _, first = np.unique(ids, return_index=True)
        clash = np.setdiff1d(np.arange(n), first)
        s["ra"][clash] = (s["ra"][clash] + 0.02 * 15 / 3600 / np.cos(np.deg2rad(s["dec"][clash]))) % 360
        ids = tmass_designation(s["ra"], s["dec"])

    # Photometry.
    absmag = stars.absolute_magnitudes(s["teff"], s["logg"], s["fe_h"], s["mass"])
    dm = 5.0 * np.log10(s["distance"] * 100.0)
    ext = extinction.band_extinction(s["a_v"])
    true_mags = {band: absmag[band] + dm + ext[band] for band in stars.BANDS}
    mags, errs, k_blend, w2_bad = photometry.observe(true_mags, rng, k["photometry_contamination"])

    # Gaia astrometry and availability.
    crowd = np.exp(-np.abs(s["b"]) / 3.0)
    vpu = gaia.draw_visibility_periods(gaia.ecliptic_latitude(s["ra"], s["dec"]), rng)
    q = gaia.draw_astrometry_quality(mags["G"], s["b"], vpu, rng, k["parallax_error_knots_g"],
                                     k["parallax_error_knots_mas"], k["parallax_error_scatter"])
    plx_true = 1.0 / s["distance"]
    if dr3:   # per-star L21-like zero point Z: catalogue = true + Z + noise (same random draws as DR2)
        ecl_lat = gaia.ecliptic_latitude(s["ra"], s["dec"])
        zp_true = gaia_file.mock_zero_point(mags["G"], gaia_file.nu_eff_from_colour(mags["BP"] - mags["RP"]), ecl_lat)
        plx = plx_true + zp_true + q["parallax_error"] * rng.standard_normal(n)
    else:
        plx = plx_true - k["parallax_zero_point"] + q["parallax_error"] * rng.standard_normal(n)
    in_gaia = (rng.random(n) >= k["gaia_missing_fraction"]) & (true_mags["G"] <= k["gaia_g_limit"])
    has_parallax = in_gaia & (vpu >= 6)       # DR2 has no 5-parameter solution below 6 periods
    p_bprp = k["bp_rp_missing_fraction"] * (0.5 + crowd) / np.mean(0.5 + crowd)
    has_bp_rp = in_gaia & (rng.random(n) >= p_bprp)
    r = rng.random(n)
    has_w1 = in_gaia & (r >= k["w2_missing_fraction"] / 2)
    has_w2 = in_gaia & (r >= k["w2_missing_fraction"])
    p_var = k["variable_fraction"] * np.where(s["logg"] < 1.0, 3.0, 0.7)
    is_variable = in_gaia & (rng.random(n) < p_var)
    pm_err = q["pm_error"]
    pmra_obs = s["pmra"] + pm_err * rng.standard_normal(n)
    pmdec_obs = s["pmdec"] + pm_err * rng.standard_normal(n)

    # APOGEE: SNR, ASPCAP labels, flags.
    snr = np.clip(100.0 * 10.0 ** (-0.2 * (mags["H"] - s["h_faint"])) * np.exp(rng.normal(0, 0.25, n)), 5.0, 1500.0)

    # Repeated observations: a few stars observed again in a neighbouring field.
    rows = np.concatenate([np.arange(n), rng.choice(n_uniq, size=n_dup, replace=False)])
    is_dup = np.arange(rows.size) >= n
    fl, fb, floc = fs["field_l"], fs["field_b"], fs["field_location_ids"]
    loc = s["location_id"][rows].copy()
    if n_dup:
        f = fs["field"][rows[is_dup]]
        sep = np.hypot((fl[None, :] - fl[f][:, None] + 180) % 360 - 180, fb[None, :] - fb[f][:, None])
        sep[np.arange(f.size), f] = np.inf
        loc[is_dup] = floc[np.argmin(sep, axis=1)]
    snr_row = snr[rows] * np.where(is_dup, np.exp(rng.normal(0, 0.5, rows.size)), 1.0)
    snr_row = np.clip(snr_row, 5.0, 1500.0)

    nr = rows.size
    noise = np.clip(100.0 / snr_row, 0.3, 3.0)
    aspcap = {
        "TEFF": s["teff"][rows] + rng.normal(0, 1, nr) * (40.0 * noise + 20.0),
        "LOGG": s["logg"][rows] + rng.normal(0, 1, nr) * (0.05 * noise + 0.05),
        "FE_H": s["fe_h"][rows] + rng.normal(0, 1, nr) * (0.02 * noise + 0.01),
        "ALPHA_M": s["alpha_m"][rows] + rng.normal(0, 1, nr) * (0.02 * noise + 0.01),
    }
    aspcap["M_H"] = aspcap["FE_H"] + 0.5 * aspcap["ALPHA_M"] + rng.normal(0, 0.02, nr)
    failed = rng.random(nr) < k["aspcap_failure_fraction"]
    all_failed = failed & (rng.random(nr) < 0.5)
    aspcap["LOGG"][failed] = ALLSTAR_MISSING
    for key in ("TEFF", "M_H", "ALPHA_M"):
        aspcap[key][all_failed] = ALLSTAR_MISSING
    aspcap["FE_H"][all_failed | (rng.random(nr) < 0.01)] = ALLSTAR_MISSING
    aspcapflag = np.where(rng.random(nr) < 0.1, 1 << rng.integers(0, 8, nr), 0) | np.where(failed, 1 << 23, 0)
    starflag = np.where(rng.random(nr) < 0.08, 1 << rng.choice([0, 3, 9, 16], nr), 0)
    k_err = errs["K"][rows].copy()
    k_err[rng.random(nr) < k["k_err_missing_fraction"]] = ALLSTAR_MISSING

    # Spectra: which rows get a file, and each row's instrument continuum and defects.
    apogee_id = np.char.add("2M", ids[rows])
    status = np.full(nr, "ok", dtype="U11")
    if k["spectra_logg_range"] is not None:
        lo, hi = k["spectra_logg_range"]
        status[~((aspcap["LOGG"] > lo) & (aspcap["LOGG"] <= hi))] = "not_written"
    target = np.flatnonzero((status == "ok") & (s["star_class"][rows] == "upper_rgb") & ~failed)
    if target.size == 0:
        raise ValueError("the mock has no upper-RGB star with a spectrum; raise mock.n_stars")
    status[rng.choice(target)] = "unreadable"
    written = np.flatnonzero(status == "ok")
    n_missing = max(1, int(round(k["missing_spectrum_fraction"] * nr)))
    status[rng.choice(written, size=min(n_missing, written.size - 1), replace=False)] = "missing"
    edge = np.tile(np.asarray(spectra.EDGE_PIXELS), (nr, 1))
    extra = rng.random((nr, 6)) < 0.05
    edge[extra] += rng.integers(1, 4, extra.sum())
    n_nan = np.where(rng.random(nr) < k["nan_spectrum_fraction"], rng.integers(1, 9, nr), 0)
    # The continuum has its own random stream: its knobs change nothing else in the catalogue.
    coeffs = spectra.draw_continuum_parameters(nr, np.random.default_rng([seed, 3]), k["continuum_amplitude"],
                                               k["continuum_tilt"], k["continuum_blaze_depth"],
                                               k["continuum_wiggle"], k["continuum_knots"])

    # FIELD per row (the cluster fields carry the cluster's name, as APOGEE's do) and EXTRATARG bit 4
    # (DUPLICATE: a star's rows other than its highest-S/N one; shared/data/sas_layout.md sec. 3).
    field_of_loc = dict(zip(floc.tolist(), _field_names(fl, fb).tolist()))
    field_of_loc.update(zip(cl_loc.tolist(), clusters.CLUSTERS))
    field = np.array([field_of_loc[int(x)] for x in loc])
    best = np.zeros(nr, dtype=bool)
    order_snr = np.lexsort((-snr_row, rows))
    first = np.r_[True, rows[order_snr][1:] != rows[order_snr][:-1]]
    best[order_snr[first]] = True
    extratarg = np.where(best, 0, EXTRATARG_DUPLICATE).astype(np.int16)

    # Shuffle rows (the real allStar is not grouped by field or star kind).
    order = rng.permutation(nr)
    rows, is_dup, loc, snr_row = rows[order], is_dup[order], loc[order], snr_row[order]
    field, extratarg = field[order], extratarg[order]
    apogee_id, status, edge, n_nan, coeffs = apogee_id[order], status[order], edge[order], n_nan[order], coeffs[order]
    aspcap = {key: v[order] for key, v in aspcap.items()}
    aspcapflag, starflag, k_err, failed = aspcapflag[order], starflag[order], k_err[order], failed[order]

    # Telescopes (own random stream [seed, 13]: the rows above are drawn as before).
    in_cluster = s["cluster"][rows] != ""
    lco = _southern_fields(fl, fb, floc, k["lco25m_field_fraction"]) if release != "dr14" else floc[:0]
    telescope, loc, field, long_id = _telescopes(release, rows, is_dup, loc, field, mags["H"][rows], in_cluster,
                                                 lco, k["apo1m_fraction"], np.random.default_rng([seed, 13]))
    apogee_id = np.where(long_id, np.char.add(np.char.add(LONG_ID_PREFIX, ids[rows]), LONG_ID_SUFFIX),
                         apogee_id.astype("U30"))
    extratarg = extratarg | np.where(telescope == "apo1m", EXTRATARG_APO1M, 0)
    # apStar files of lco25m are asStar-... ([JB] apStarPath, sas_layout.md sec. 3).
    prefix = np.where(telescope == "lco25m", f"asStar-{apred}-", f"apStar-{apred}-")
    if release == "dr17":
        for key in DR17_NAN_COLUMNS:
            aspcap[key] = np.where(aspcap[key] == ALLSTAR_MISSING, np.nan, aspcap[key])

    allstar = Table()
    values = {
        "APOGEE_ID": apogee_id, "TELESCOPE": telescope, "LOCATION_ID": loc,
        "FIELD": field, "EXTRATARG": extratarg,
        "FILE": np.char.add(np.char.add(prefix, apogee_id), ".fits"),
        "RA": s["ra"][rows], "DEC": s["dec"][rows], "GLON": s["l"][rows], "GLAT": s["b"][rows],
        "J": mags["J"][rows], "J_ERR": errs["J"][rows], "H": mags["H"][rows], "H_ERR": errs["H"][rows],
        "K": mags["K"][rows], "K_ERR": k_err, **aspcap, "SNR": snr_row,
        "VHELIO_AVG": s["rv"][rows] + rng.normal(0, 0.3, nr), "ASPCAPFLAG": aspcapflag, "STARFLAG": starflag,
    }
    for name, (dtype, unit, desc) in spec.items():
        allstar[name] = np.asarray(values[name]).astype(dtype)
        allstar[name].unit = unit or None
        allstar[name].description = desc

    # Gaia cross-match: one row per distinct star that Gaia found.
    g_idx = np.flatnonzero(in_gaia)
    g_idx = g_idx[rng.permutation(g_idx.size)]
    dt = EPOCH_GAIA - EPOCH_2MASS
    g_ra = s["ra"] + s["pmra"] * dt / 3.6e6 / np.cos(np.deg2rad(s["dec"]))
    g_dec = s["dec"] + s["pmdec"] * dt / 3.6e6
    no_bp = ~has_bp_rp
    gvals = {
        "tmass_designation": (ids, None),
        "source_id": (_source_ids(n, rng), None),
        "random_index": (gaia.random_index(in_gaia, seed), None),
        "ra": (g_ra % 360, None), "dec": (g_dec, None),
        "parallax": (plx, ~has_parallax), "parallax_error": (q["parallax_error"], ~has_parallax),
        "parallax_over_error": (plx / q["parallax_error"], ~has_parallax),
        "pmra": (pmra_obs, ~has_parallax), "pmra_error": (pm_err, ~has_parallax),
        "pmdec": (pmdec_obs, ~has_parallax), "pmdec_error": (pm_err, ~has_parallax),
        "phot_g_mean_mag": (mags["G"], None), "phot_bp_mean_mag": (mags["BP"], no_bp),
        "phot_rp_mean_mag": (mags["RP"], no_bp),
        "phot_g_mean_flux": (gaia.mag_to_flux(mags["G"], "G"), None),
        "phot_g_mean_flux_error": (gaia.mag_to_flux(mags["G"], "G") * errs["G"] / 1.0857, None),
        "phot_bp_mean_flux": (gaia.mag_to_flux(mags["BP"], "BP"), no_bp),
        "phot_bp_mean_flux_error": (gaia.mag_to_flux(mags["BP"], "BP") * errs["BP"] / 1.0857, no_bp),
        "phot_rp_mean_flux": (gaia.mag_to_flux(mags["RP"], "RP"), no_bp),
        "phot_rp_mean_flux_error": (gaia.mag_to_flux(mags["RP"], "RP") * errs["RP"] / 1.0857, no_bp),
        "bp_rp": (mags["BP"] - mags["RP"], no_bp),
        "visibility_periods_used": (vpu, None),
        "astrometric_chi2_al": (q["astrometric_chi2_al"], None),
        "astrometric_n_good_obs_al": (q["astrometric_n_good_obs_al"], None),
        "phot_variable_flag": (np.where(is_variable, "VARIABLE", "NOT_AVAILABLE"), None),
        "allwise_designation": (allwise_designation(g_ra % 360, g_dec), ~has_w1),
        "w1mpro": (mags["W1"], ~has_w1), "w1mpro_error": (errs["W1"], ~has_w1),
        "w2mpro": (mags["W2"], ~has_w2), "w2mpro_error": (errs["W2"], ~has_w2),
        **(gaia_file.dr3_values(n, seed, bp_rp=mags["BP"] - mags["RP"], has_bp_rp=has_bp_rp, has_parallax=has_parallax,
                                ecl_lat=ecl_lat, chi2=q["astrometric_chi2_al"], n_good=q["astrometric_n_good_obs_al"],
                                designation=ids) if dr3 else {}),
    }
    gaia_table = Table()
    for name, (dtype, unit, desc) in {**GAIA_COLUMNS, **(gaia_file.DR3_EXTRA_COLUMNS if dr3 else {})}.items():
        v, mask = gvals[name]
        v = np.asarray(v)[g_idx]
        col = _masked(v, mask[g_idx], dtype) if mask is not None else np.asarray(v).astype(dtype)
        gaia_table[name] = col
        gaia_table[name].unit = unit or None
        gaia_table[name].description = desc

    # A few Gaia sources share their 2MASS best neighbour with a fainter mate (own random stream).
    gaia_table, mated = gaia.add_shared_neighbour_mates(gaia_table, k["shared_neighbour_fraction"],
                                                        np.random.default_rng([seed, 11]))
    n_mates = np.zeros(n, dtype=np.int16)
    n_mates[g_idx[mated]] = 1

    truth = Table()
    truth["APOGEE_ID"] = allstar["APOGEE_ID"]
    truth["LOCATION_ID"] = allstar["LOCATION_ID"]
    truth["FIELD"] = allstar["FIELD"]
    truth["TELESCOPE"] = allstar["TELESCOPE"]
    truth["has_2mass_id"] = ~long_id
    per_star = {
        "star_class": s["star_class"], "population": s["population"], "cluster": s["cluster"],
        "parallax_true": plx_true, "distance": s["distance"], "teff": s["teff"], "logg": s["logg"],
        "fe_h": s["fe_h"], "alpha_m": s["alpha_m"], "mass": s["mass"],
        "luminosity": stars.luminosity(s["teff"], s["logg"], s["mass"]), "A_V": s["a_v"],
        **{f"A_{band}": ext[band] for band in stars.BANDS},
        **{f"{band}_true": true_mags[band] for band in stars.BANDS},
        "x": s["x"], "y": s["y"], "z": s["z"], "pmra_true": s["pmra"], "pmdec_true": s["pmdec"],
        "rv_true": s["rv"], "in_gaia": in_gaia, "has_parallax": has_parallax, "has_bp_rp": has_bp_rp,
        "has_w1": has_w1, "has_w2": has_w2, "is_variable": is_variable,
        "k_blended": k_blend, "w2_bad": w2_bad, "n_gaia_mates": n_mates,
    }
    for name, v in per_star.items():
        truth[name] = np.asarray(v)[rows]
    if dr3:
        truth["parallax_zero_point_true"] = zp_true[rows]
        truth["parallax_zero_point_true"].unit = u.mas
    truth["is_duplicate_row"] = is_dup
    truth["aspcap_failed"] = failed
    truth["spectrum_status"] = status
    truth["continuum_params"] = coeffs
    truth["edge_zero_pixels"] = edge.astype(np.int16)
    truth["n_nan_pixels"] = n_nan.astype(np.int16)
    units = {"parallax_true": u.mas, "distance": u.kpc, "teff": u.K, "mass": u.Msun,
             "luminosity": u.Lsun, "x": u.kpc, "y": u.kpc, "z": u.kpc, "pmra_true": u.mas / u.yr,
             "pmdec_true": u.mas / u.yr, "rv_true": u.km / u.s}
    for name, unit in units.items():
        truth[name].unit = unit
    for name in truth.colnames:
        if name.startswith("A_") or name.endswith("_true") and name[:-5] in stars.BANDS:
            truth[name].unit = u.mag
    truth.meta.update({"SEED": seed, "N_LINES": k["n_lines"], "LINESEED": k["line_seed"],
                       "N_WEAK": k["weak_lines"], "WEAKDEPT": k["weak_line_depth"],
                       "PLX_ZP": "per star" if dr3 else k["parallax_zero_point"], "GAIAREL": gaia_release})
    return allstar, gaia_table, truth
