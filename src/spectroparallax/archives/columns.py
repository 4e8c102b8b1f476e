"""Column names, types and units of the archive tables the pipeline reads.

One place for the names used by the mock survey (which writes them), the archive queries (which
ask for them) and the readers (which check for them). Each entry: name -> (numpy dtype, unit,
description). Missing values follow each archive's habit: -9999 in APOGEE allStar, masked/NaN
in Gaia Archive results.
"""

import numpy as np

#: DR14 allStar columns the pipeline reads (a subset of the file's ~150 columns).
ALLSTAR_COLUMNS = {
    "APOGEE_ID": ("U18", "", "2MASS-style star identifier, 2M + designation"),
    "TELESCOPE": ("U8", "", "telescope: apo25m, lco25m or apo1m"),
    "LOCATION_ID": ("i4", "", "APOGEE field location ID (directory of the star's files)"),
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

#: Columns of the Gaia Archive query (gaia_source x tmass_best_neighbour x allwise), by name as
#: returned. ``tmass_designation`` is tmass_best_neighbour.original_ext_source_id (2MASS
#: designation without the '2M' prefix); ``allwise_designation`` is allwise_original_valid.designation.
GAIA_COLUMNS = {
    "tmass_designation": ("U17", "", "2MASS designation of the best neighbour (APOGEE_ID without '2M')"),
    "source_id": ("i8", "", "Gaia DR2 source identifier"),
    "ra": ("f8", "deg", "Gaia right ascension (epoch 2015.5)"),
    "dec": ("f8", "deg", "Gaia declination (epoch 2015.5)"),
    "parallax": ("f8", "mas", "Gaia DR2 parallax (no zero-point correction)"),
    "parallax_error": ("f8", "mas", "Gaia DR2 parallax uncertainty"),
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

#: allStar's missing-value sentinel.
ALLSTAR_MISSING = -9999.0


def as_float(column):
    """A table column as float64 with NaN for masked entries (Gaia nulls) and allStar -9999s."""
    values = np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)
    values[values == ALLSTAR_MISSING] = np.nan
    return values
