"""Column names, types and units of the archive tables the pipeline reads.

One place for the names used by the mock survey (which writes them), the archive queries (which
ask for them) and the readers (which check for them). Each entry: name -> (numpy dtype, unit,
description). Missing values follow each archive's habit: -9999 in APOGEE allStar, masked/NaN
in Gaia Archive results.
"""

import numpy as np

#: allStar columns the pipeline reads (a subset of the file's 208-234 columns), the same names in
#: DR14, DR16 and DR17 (shared/data/sas_layout.md sec. 7). Text widths are the widest of DR14-DR17
#: (APOGEE_ID is char[18] in DR14/DR16, char[30] in DR17); text is stripped before it is cast and
#: never truncated (:func:`text_column`). Integers are the widest too (EXTRATARG int16 -> int32,
#: flags int32 -> int64 in DR17).
ALLSTAR_COLUMNS = {
    "APOGEE_ID": ("U30", "", "star identifier: 2M + 2MASS designation, or a non-2MASS name (apo1m, commissioning)"),
    "TELESCOPE": ("U8", "", "telescope: apo25m, lco25m or apo1m"),
    "LOCATION_ID": ("i4", "", "APOGEE field location ID (directory of the star's files)"),
    "FIELD": ("U20", "", "APOGEE field name (directory of DR16/DR17 files and of DR14 apo1m files)"),
    "EXTRATARG": ("i4", "", "target bitmask; bit 4 (16) = non-primary (not highest S/N) duplicate"),
    "FILE": ("U64", "", "apStar file name of the combined spectrum"),
    "RA": ("f8", "deg", "right ascension (J2000)"),
    "DEC": ("f8", "deg", "declination (J2000)"),
    "GLON": ("f8", "deg", "Galactic longitude"),
    "GLAT": ("f8", "deg", "Galactic latitude"),
    "J": ("f4", "mag", "2MASS J"),
    "J_ERR": ("f4", "mag", "2MASS J uncertainty"),
    "H": ("f4", "mag", "2MASS H"),
    "H_ERR": ("f4", "mag", "2MASS H uncertainty"),
    "K": ("f4", "mag", "2MASS Ks"),
    "K_ERR": ("f4", "mag", "2MASS Ks uncertainty"),
    "TEFF": ("f4", "K", "ASPCAP effective temperature"),
    "LOGG": ("f4", "dex", "ASPCAP surface gravity log10(g / cm s^-2)"),
    "M_H": ("f4", "dex", "ASPCAP overall metallicity [M/H]"),
    "FE_H": ("f4", "dex", "ASPCAP iron abundance [Fe/H]"),
    "ALPHA_M": ("f4", "dex", "ASPCAP [alpha/M]"),
    "SNR": ("f4", "", "spectrum signal-to-noise ratio per pixel"),
    "VHELIO_AVG": ("f4", "km / s", "mean heliocentric radial velocity"),
    "ASPCAPFLAG": ("i8", "", "ASPCAP bitmask"),
    "STARFLAG": ("i8", "", "star-level reduction bitmask"),
}

#: What identifies an allStar row (and its one aspcapStar file) in every release: a star has one
#: row per telescope and field (sas_layout.md sec. 3); LOCATION_ID is DR14-only and not in Lite.
STAR_KEYS = ("APOGEE_ID", "TELESCOPE", "FIELD")
#: allStar columns an allStarLite file lacks (sas_layout.md sec. 2): read where present, required
#: only where the release's aspcapStar path needs them (sas.path_columns: LOCATION_ID in DR14).
ALLSTAR_OPTIONAL = ("LOCATION_ID", "FILE")
#: 2MASS columns whose "bad" value is 99 in the data model ("[bad=99]", sas_layout.md sec. 7,
#: unverified on a file): the reader writes NaN for values >= this.
TMASS_COLUMNS = ("J", "J_ERR", "H", "H_ERR", "K", "K_ERR")
TMASS_BAD = 99.0

#: Columns of the Gaia Archive query (gaia_source x 2MASS best neighbour x AllWISE), by name as
#: returned, in both releases (gaia_archive.md sec. 4: every one of them is in DR2 and DR3).
#: ``tmass_designation`` is the *uploaded* 2MASS designation (APOGEE_ID without the '2M' prefix):
#: in DR2 equal to tmass_best_neighbour.original_ext_source_id, in DR3 the key of the
#: tmass_psc_xsc_join route (sec. 3); ``allwise_designation`` is allwise_original_valid.designation.
#: Descriptions say "Gaia"; :func:`gaia_columns` names the release in them (G8 of the fact sheet).
GAIA_COLUMNS = {
    "tmass_designation": ("U17", "", "2MASS designation of the APOGEE star (APOGEE_ID without '2M'), as uploaded"),
    "source_id": ("i8", "", "Gaia source identifier"),
    # gaia_source.random_index (long, in DR2 and DR3): a random permutation of 0..N-1 over the N sources of
    # the release, "for use when selecting subsets"; HER19 split its folds by its parity (even A, odd B).
    "random_index": ("i8", "", "random index of the source in gaia_source (0..N-1, one per source)"),
    "ra": ("f8", "deg", "Gaia right ascension (epoch 2015.5)"),
    "dec": ("f8", "deg", "Gaia declination (epoch 2015.5)"),
    "parallax": ("f8", "mas", "Gaia parallax as published (no zero-point correction)"),
    "parallax_error": ("f8", "mas", "Gaia parallax uncertainty"),
    "parallax_over_error": ("f4", "", "parallax / parallax_error"),
    "pmra": ("f8", "mas / yr", "proper motion in RA * cos(Dec)"),
    "pmra_error": ("f8", "mas / yr", "uncertainty of pmra"),
    "pmdec": ("f8", "mas / yr", "proper motion in Dec"),
    "pmdec_error": ("f8", "mas / yr", "uncertainty of pmdec"),
    "phot_g_mean_mag": ("f4", "mag", "Gaia G"),
    "phot_bp_mean_mag": ("f4", "mag", "Gaia BP"),
    "phot_rp_mean_mag": ("f4", "mag", "Gaia RP"),
    "phot_g_mean_flux": ("f8", "electron / s", "Gaia G mean flux"),
    "phot_g_mean_flux_error": ("f4", "electron / s", "uncertainty of the G flux"),
    "phot_bp_mean_flux": ("f8", "electron / s", "Gaia BP mean flux"),
    "phot_bp_mean_flux_error": ("f4", "electron / s", "uncertainty of the BP flux"),
    "phot_rp_mean_flux": ("f8", "electron / s", "Gaia RP mean flux"),
    "phot_rp_mean_flux_error": ("f4", "electron / s", "uncertainty of the RP flux"),
    "bp_rp": ("f4", "mag", "BP - RP colour"),
    "visibility_periods_used": ("i2", "", "number of visibility periods used in the astrometric solution"),
    "astrometric_chi2_al": ("f4", "", "AL chi-square of the astrometric solution"),
    "astrometric_n_good_obs_al": ("i4", "", "number of good AL observations"),
    "phot_variable_flag": ("U16", "", "photometric variability flag: NOT_AVAILABLE or VARIABLE"),
    "allwise_designation": ("U20", "", "AllWISE designation of the best neighbour"),
    "w1mpro": ("f4", "mag", "AllWISE W1 profile-fit magnitude"),
    "w1mpro_error": ("f4", "mag", "uncertainty of w1mpro"),
    "w2mpro": ("f4", "mag", "AllWISE W2 profile-fit magnitude"),
    "w2mpro_error": ("f4", "mag", "uncertainty of w2mpro"),
}

#: DR3 only: the inputs of the Lindegren et al. (2021) parallax zero point (gaia_archive.md sec. 4-5;
#: nu_eff_used_in_astrometry and pseudocolour are not in DR2) and RUWE (DR2: table gaiadr2.ruwe).
GAIA_DR3_COLUMNS = {
    "nu_eff_used_in_astrometry": ("f4", "1 / um", "effective wavenumber used in the astrometry (5-parameter solutions)"),
    "pseudocolour": ("f4", "1 / um", "astrometrically estimated effective wavenumber (6-parameter solutions)"),
    "ecl_lat": ("f8", "deg", "ecliptic latitude"),
    "astrometric_params_solved": ("i2", "", "solved parameters: 31 = 5-parameter, 95 = 6-parameter, 3 = 2-parameter"),
    "ruwe": ("f4", "", "renormalised unit weight error"),
}

#: Added where a DR3 chunk is reduced (:mod:`spectroparallax.archives.gaia_zero_point`).
GAIA_ZERO_POINT_COLUMNS = {
    "parallax_zero_point": ("f8", "mas", "Lindegren et al. 2021 parallax zero point Z (gaiadr3-zeropoint); "
                            "the model fits parallax - Z; NaN outside its validity range"),
    "zero_point_valid": ("bool", "", "star inside the L21 validity range (6 < G < 21, 1.1 < nu_eff < 1.9 "
                         "or 1.24 < pseudocolour < 1.72); False: kept, parallax left uncorrected"),
}


def gaia_columns(release: str) -> dict:
    """The Gaia query columns of ``release`` (dr2 or dr3): GAIA_COLUMNS, plus GAIA_DR3_COLUMNS for dr3."""
    if release not in ("dr2", "dr3"):
        raise ValueError(f"Gaia release {release!r}: use dr2 or dr3")
    columns = {**GAIA_COLUMNS, **(GAIA_DR3_COLUMNS if release == "dr3" else {})}
    return {name: (dtype, unit, desc.replace("Gaia ", f"Gaia {release.upper()} ", 1) if desc.startswith("Gaia ")
                   else desc)
            for name, (dtype, unit, desc) in columns.items()}


def fit_parallax(parent, l21: bool = True) -> np.ndarray:
    """The Gaia parallax the model fits [mas], before the offset: parallax - parallax_zero_point.

    A table without parallax_zero_point (Gaia DR2), or ``l21`` False (switches.zero_point paper: a
    constant offset only), gives the parallax unchanged; a star whose zero point is NaN (outside the
    L21 validity range, zero_point_valid False) keeps its parallax uncorrected.
    """
    parallax = as_float(parent["parallax"])
    if not l21 or "parallax_zero_point" not in parent.colnames:
        return parallax
    zpt = as_float(parent["parallax_zero_point"])
    return parallax - np.where(np.isfinite(zpt), zpt, 0.0)


#: allStar's missing-value sentinel.
ALLSTAR_MISSING = -9999.0


def as_float(column):
    """A table column as float64 with NaN for masked entries (Gaia nulls) and allStar -9999s."""
    values = np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)
    values[values == ALLSTAR_MISSING] = np.nan
    return values


#: A 2MASS-based APOGEE_ID: '2M' + the 2MASS PSC designation hhmmssss+ddmmsss, perhaps followed by
#: capital letters (the designation's suffix for close pairs).
_TMASS_PREFIX = "2M"
_TMASS_DIGITS = (slice(2, 10), slice(11, 18))
_TMASS_SIGN = 10
_TMASS_MIN_LENGTH = 18


def text_column(values, dtype, name: str) -> np.ndarray:
    """Text values (bytes or str) decoded, stripped of surrounding blanks, then cast to ``dtype``.

    Stripping comes first, so padding never costs a character; a value still longer than the
    width of ``dtype`` raises ValueError naming the column and the value, it is never cut.
    """
    values = np.asarray(values)
    if values.dtype.kind == "S":
        values = np.char.decode(values, "ascii")
    values = np.char.strip(values.astype(str))
    width = np.dtype(dtype).itemsize // 4
    too_long = np.char.str_len(values) > width if values.size else np.zeros(0, bool)
    if too_long.any():
        raise ValueError(f"column {name} holds {int(too_long.sum())} value(s) longer than {width} characters, "
                         f"e.g. {str(values[too_long][0])!r}")
    return values.astype(dtype)


def is_tmass_id(apogee_ids) -> np.ndarray:
    """Boolean mask: which stripped APOGEE_IDs are '2M' + a 2MASS designation (vectorized).

    Anything else (apo1m targets, commissioning and other named objects, a '2M' prefix without a
    well-formed designation) is not 2MASS-based: kept intact, but it has no 2MASS best neighbour
    in Gaia.
    """
    ids = np.char.strip(np.asarray(apogee_ids, dtype=str))
    n = ids.size
    width = max(ids.dtype.itemsize // 4, _TMASS_MIN_LENGTH)
    codes = ids.astype(f"U{width}").view(np.uint32).reshape(n, width)
    ok = np.char.str_len(ids) >= _TMASS_MIN_LENGTH if n else np.zeros(0, bool)
    ok &= (codes[:, 0] == ord("2")) & (codes[:, 1] == ord("M"))
    for part in _TMASS_DIGITS:
        ok &= np.all((codes[:, part] >= ord("0")) & (codes[:, part] <= ord("9")), axis=1)
    ok &= (codes[:, _TMASS_SIGN] == ord("+")) | (codes[:, _TMASS_SIGN] == ord("-"))
    tail = codes[:, _TMASS_MIN_LENGTH:]
    ok &= np.all((tail == 0) | ((tail >= ord("A")) & (tail <= ord("Z"))), axis=1)
    return ok.reshape(ids.shape)


def tmass_designation(apogee_ids) -> np.ndarray:
    """The 2MASS designation of each APOGEE_ID (without '2M'); '' for IDs that are not 2MASS-based."""
    ids = np.char.strip(np.asarray(apogee_ids, dtype=str))
    if ids.size == 0:
        return ids
    return np.where(is_tmass_id(ids), np.char.replace(ids, _TMASS_PREFIX, "", count=1), "")
