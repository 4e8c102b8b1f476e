"""The Gaia DR3 parallax zero point of Lindegren et al. (2021, A&A 649, A4; "L21") per star.

Owns the columns parallax_zero_point [mas] and zero_point_valid of a DR3 Gaia chunk (rule
gaia_chunk), computed with the gaiadr3-zeropoint package (import ``zero_point.zpt``;
gaia_archive.md sec. 5). The package returns Z; the corrected parallax is ``parallax - Z``
(columns.fit_parallax, what the model fits). DR2 chunks get neither column: HER19 fit a constant
offset instead (model.offset_grid).

Validity: L21 is calibrated for 6 < G < 21 and 1.1 < nu_eff < 1.9 (5-parameter solutions,
astrometric_params_solved 31) or 1.24 < pseudocolour < 1.72 (6-parameter, 95). We call the package
with warnings off, so a star outside that range (or without a 5/6-parameter solution, or a NaN
input) gets NaN: it is kept, its parallax is left uncorrected (fit_parallax), zero_point_valid is
False, and the number of such stars is logged and written to the chunk header (NZPTOUT).
"""

import logging
import warnings

import numpy as np
from astropy.table import Table

from spectroparallax.archives.columns import GAIA_ZERO_POINT_COLUMNS, as_float

log = logging.getLogger(__name__)

#: Solutions with a parallax the correction covers (5- and 6-parameter).
SOLVED_WITH_COLOUR = (31, 95)


def zero_point(g, nu_eff, pseudocolour, ecl_lat, params_solved) -> np.ndarray:
    """L21 zero point Z [mas] per star; NaN where L21 does not apply (see the module docstring).

    Inputs are equal-length arrays (masked/NaN allowed): phot_g_mean_mag [mag],
    nu_eff_used_in_astrometry and pseudocolour [1/um], ecl_lat [deg], astrometric_params_solved.
    """
    from zero_point import zpt

    g, nu_eff, pseudocolour, ecl_lat = (as_float(x) for x in (g, nu_eff, pseudocolour, ecl_lat))
    solved = np.ma.filled(np.ma.asarray(params_solved), 0).astype(int)
    out = np.full(g.shape, np.nan)
    use = np.isin(solved, SOLVED_WITH_COLOUR)   # any other value makes get_zpt raise
    if use.any():
        zpt.load_tables()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # out-of-range stars come back NaN (_warnings=False)
            out[use] = zpt.get_zpt(g[use], nu_eff[use], pseudocolour[use], ecl_lat[use],
                                   solved[use].astype(float), _warnings=False)
    return out


def add_zero_point(table: Table) -> Table:
    """``table`` (a conformed DR3 chunk) with parallax_zero_point [mas] and zero_point_valid added."""
    z = zero_point(table["phot_g_mean_mag"], table["nu_eff_used_in_astrometry"], table["pseudocolour"],
                   table["ecl_lat"], table["astrometric_params_solved"])
    out = table.copy(copy_data=False)
    for name, values in (("parallax_zero_point", z), ("zero_point_valid", np.isfinite(z))):
        dtype, unit, description = GAIA_ZERO_POINT_COLUMNS[name]
        out[name] = np.asarray(values, dtype=dtype)
        out[name].unit = unit or None
        out[name].description = description
    has_parallax = np.isfinite(as_float(table["parallax"]))
    n_out = int((has_parallax & ~np.isfinite(z)).sum())
    out.meta["NZPTOUT"] = n_out   # stars with a parallax outside the L21 range (left uncorrected)
    if n_out:
        log.info("L21 zero point: %d of %d stars with a parallax are outside its validity range "
                 "(6 < G < 21, 1.1 < nu_eff < 1.9 or 1.24 < pseudocolour < 1.72): kept, parallax uncorrected",
                 n_out, int(has_parallax.sum()))
    return out
