"""Writers of the mock survey's files in the archives' own formats (all writes atomic)."""

import os

import numpy as np
from astropy.io import fits

from spectroparallax.io import atomic
from spectroparallax.spectra import apogee_grid


def _fits_units(table):
    """A copy of ``table`` without the units FITS cannot store (dex): those stay descriptive only."""
    out = table.copy(copy_data=False)
    for col in out.itercols():
        if col.unit is not None:
            try:
                col.unit.to_string("fits")
            except ValueError:
                col.unit = None
    return out


def write_allstar(allstar, path):
    """Write the allStar table as a FITS binary table in HDU 1, as the SAS file is."""
    atomic.write_table(_fits_units(allstar), path, format="fits")


def write_truth(truth, path):
    """Write the truth table (one row per allStar row) as FITS."""
    atomic.write_table(truth, path, format="fits")


def _spectrum_header():
    h = fits.Header()
    h["CRVAL1"] = (apogee_grid.LOG10_LAMBDA_START, "log10(lambda/A) of the first pixel")
    h["CDELT1"] = (apogee_grid.LOG10_LAMBDA_STEP, "log10(lambda/A) step per pixel")
    h["CRPIX1"] = (1, "reference pixel")
    h["CTYPE1"] = ("LOG-LINEAR", "log10(lambda) linear in pixel")
    return h


_HEADER = _spectrum_header()


def aspcapstar_hdulist(apogee_id, flux, error):
    """aspcapStar-like HDUList: primary (OBJID), HDU 1 flux and HDU 2 error, float32 (8575,)."""
    primary = fits.PrimaryHDU()
    primary.header["OBJID"] = (str(apogee_id), "APOGEE object identifier")
    hdu_flux = fits.ImageHDU(np.asarray(flux, dtype=np.float32), header=_HEADER.copy())
    hdu_flux.header["BUNIT"] = "Flux (10^-17 erg/s/cm^2/Ang)"
    hdu_err = fits.ImageHDU(np.asarray(error, dtype=np.float32), header=_HEADER.copy())
    hdu_err.header["BUNIT"] = "Err (10^-17 erg/s/cm^2/Ang)"
    return fits.HDUList([primary, hdu_flux, hdu_err])


def write_aspcapstar(path, apogee_id, flux, error, truncate=False):
    """Write one aspcapStar file atomically; ``truncate`` leaves a corrupt file (first 4000 bytes).

    The truncated file mimics an interrupted transfer: FITS readers fail on it.
    """
    hdul = aspcapstar_hdulist(apogee_id, flux, error)
    with atomic.atomic_path(path) as tmp:
        hdul.writeto(tmp, overwrite=True)
        if truncate:
            os.truncate(tmp, 4000)
