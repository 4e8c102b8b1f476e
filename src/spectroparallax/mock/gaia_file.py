"""The mock's Gaia Archive result file and its Gaia DR3 side (built from gaia_archive.md, not the reader).

Owns: the file the mock writes for the Gaia cross-match, as the archive's TAP service returns a
result (gaia_archive.md sec. 1: ``votable`` results are gzip-compressed BINARY2 VOTables), for
Gaia DR2 or DR3; the extra columns the fact sheet's DR3 query selects (sec. 3 and 4); and the mock's
own DR3 parallax zero point, a smooth function of G, the effective wavenumber and the ecliptic
latitude shaped like Lindegren et al. (2021)'s (it does not call their package: the workflow does,
and a test compares the two ends).
"""

import gzip

import astropy.units as u
import numpy as np
from astropy.io.votable import from_table

from spectroparallax.io import atomic

#: File name of the mock's Gaia result per release (what the TAP job returns, gzip-compressed).
GAIA_FILE = "gaia_{release}_xmatch.vot.gz"

#: Columns the DR3 query of gaia_archive.md sec. 3 adds to the DR2 ones, in gaia_source / the
#: 2MASS best-neighbour table: name -> (dtype, unit, description).
DR3_EXTRA_COLUMNS = {
    "tmass_listed_designation": ("U17", "", "original_ext_source_id listed in tmass_psc_xsc_best_neighbour"),
    "angular_distance": ("f8", "arcsec", "Gaia - 2MASS angular distance"),
    "number_of_mates": ("i2", "", "other Gaia sources with the same 2MASS best neighbour"),
    "nu_eff_used_in_astrometry": ("f4", "1 / um", "effective wavenumber used in the astrometric solution"),
    "pseudocolour": ("f4", "1 / um", "astrometrically estimated pseudocolour"),
    "ecl_lat": ("f8", "deg", "ecliptic latitude"),
    "astrometric_params_solved": ("i2", "", "which parameters were solved: 3, 31 or 95"),
    "ruwe": ("f4", "", "renormalised unit weight error"),
}

#: A separate random stream (with the mock's seed) for the DR3 columns, so DR2 mocks are unchanged.
DR3_STREAM = 0xD3


def nu_eff_from_colour(bp_rp):
    """Effective wavenumber [1/um] of a 5-parameter EDR3/DR3 solution from BP - RP [mag].

    nu_eff = 1.76 - (1.61 / pi) atan(0.531 (BP - RP)), clamped to [1.24, 1.72] (Lindegren et al.
    2021, A&A 649, A2, eq. 3): the colour the astrometry assumed.
    """
    return np.clip(1.76 - 1.61 / np.pi * np.arctan(0.531 * np.asarray(bp_rp, float)), 1.24, 1.72)


def mock_zero_point(g, nu_eff, ecl_lat):
    """The mock's DR3 parallax zero point Z [mas]: catalogue parallax = true + Z + noise.

    A smooth imitation of L21's shape for red giants: about -0.02 mas for G < 12, falling to about
    -0.04 mas by G 14 (the G ~ 13 transition of the window classes), more negative for redder
    stars (lower nu_eff, +0.07 mas per 1/um) and near the ecliptic (+0.014 mas at |sin beta| = 1).
    Clipped to [-0.06, -0.005] mas.
    """
    g = np.asarray(g, float)
    bright = 1.0 / (1.0 + np.exp(-(g - 13.0) / 0.4))       # 0 for bright, 1 for faint stars
    z = (-0.020 - 0.018 * bright + 0.07 * (np.asarray(nu_eff, float) - 1.45)
         + 0.014 * np.abs(np.sin(np.deg2rad(np.asarray(ecl_lat, float)))))
    return np.clip(z, -0.06, -0.005)


def dr3_values(n, seed, *, bp_rp, has_bp_rp, has_parallax, ecl_lat, chi2, n_good, designation):
    """Per-star values of DR3_EXTRA_COLUMNS for ``n`` candidate stars: dict name -> (values, mask).

    5-parameter solutions (astrometric_params_solved 31) for stars with a parallax and BP/RP,
    6-parameter (95, with a pseudocolour of 0.03 /um scatter around the true nu_eff) for those with
    a parallax but without BP/RP, 2-parameter (3) for the rest. RUWE = sqrt(chi2 / (n_good - 5)).
    Half a percent of the designations are a non-listed 2MASS duplicate: the best-neighbour table
    lists another designation for them (gaia_archive.md sec. 3), which the DR3 query must survive.
    """
    rng = np.random.default_rng([seed, DR3_STREAM])
    colour = np.where(np.isfinite(bp_rp), bp_rp, 1.5)
    nu = nu_eff_from_colour(colour)
    five = has_parallax & has_bp_rp
    six = has_parallax & ~has_bp_rp
    solved = np.where(five, 31, np.where(six, 95, 3)).astype(np.int16)
    pseudo = np.clip(nu + rng.normal(0.0, 0.03, n), 1.0, 2.0)
    listed = np.asarray(designation).astype("U17").copy()
    dup = rng.random(n) < 0.005
    # The listed duplicate: the same position 0.1 s of RA further (another 2MASS entry).
    listed[dup] = [d[:6] + f"{(int(d[6:8]) + 10) % 100:02d}" + d[8:] for d in listed[dup]]
    ruwe = np.sqrt(np.asarray(chi2, float) / np.maximum(np.asarray(n_good, float) - 5, 1))
    return {
        "tmass_listed_designation": (listed, None),
        "angular_distance": (rng.uniform(0.02, 0.3, n), None),
        "number_of_mates": (np.zeros(n, np.int16), None),
        "nu_eff_used_in_astrometry": (nu, ~five),
        "pseudocolour": (pseudo, ~six),
        "ecl_lat": (np.asarray(ecl_lat, float), None),
        "astrometric_params_solved": (solved, None),
        "ruwe": (ruwe, ~has_parallax),
    }


def write_gaia_result(gaia, path):
    """Write the Gaia cross-match as the archive returns it: a gzip-compressed BINARY2 VOTable.

    Like the archive's (shared/data/gaia_real/), each FIELD has an upper-case ID beside its lower-case
    name and text is ``char``, so a reader that keys on IDs gets upper-case names (astroquery reads
    with use_names_over_ids=True). Units outside the VOUnit standard (electron / s) are written
    quoted, as the Gaia Archive does ("'electron'.s**-1"); astropy reads them back as the same unit. Masked text (a star
    without an AllWISE match) is written empty.
    """
    out = gaia.copy()
    for name in out.colnames:
        col = out[name]
        if col.unit is not None and u.electron in col.unit.bases:
            col.unit = u.Unit(_quoted_vounit(col.unit), format="vounit")
        if col.dtype.kind in "US" and np.ma.is_masked(col):
            # BINARY2 keeps no null flag astropy reads back for text: a null text value is empty.
            out[name] = np.ma.filled(col, "")
            out[name].unit, out[name].description = col.unit, col.description
    for name in out.colnames:
        if out[name].dtype.kind == "U":   # the archive sends text as char, not unicodeChar
            unit, description = out[name].unit, out[name].description
            out[name] = np.char.encode(np.asarray(out[name]), "ascii")
            out[name].unit, out[name].description = unit, description
    votable = from_table(out)
    for field in votable.get_first_table().fields:
        field.ID = field.name.upper()    # the archive's FIELD IDs are upper case, its names lower case
    with atomic.atomic_path(path) as tmp:
        with gzip.open(tmp, "wb") as fh:
            votable.to_xml(fh, tabledata_format="binary2")


def _quoted_vounit(unit):
    """VOUnit string of ``unit`` with non-standard base units quoted, e.g. 'electron'.s**-1."""
    parts = []
    for base, power in zip(unit.bases, unit.powers):
        name = f"'{base.to_string()}'" if base == u.electron else base.to_string("vounit")
        parts.append(name if power == 1 else f"{name}**{power:g}")
    return ".".join(parts)
