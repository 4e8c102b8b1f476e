"""Read APOGEE combined spectra (aspcapStar and apStar files) into float32 arrays.

Both file types store the spectrum on the common 8575-pixel grid of :mod:`apogee_grid`:
HDU 1 holds the flux and HDU 2 its 1-sigma uncertainty. aspcapStar files and single-visit
apStar files are 1-D; multi-visit apStar files are 2-D, ``(n_visits + 2, 8575)``, and their
first row is the combined spectrum (the one we use; HDU 1 of DR17 apStar files is 2-D even for
one visit). Pipeline placeholders are passed through unchanged (aspcapStar gaps: flux 0 with error
0 in every release; apStar gaps: error 1e10 in DR14, flux NaN in DR17; shared/data/sas_layout.md
sec. 5-6): deciding what is bad is the job of :mod:`spectroparallax.spectra.normalize`.
"""

import os
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from spectroparallax.spectra.apogee_grid import LOG10_LAMBDA_START, LOG10_LAMBDA_STEP, N_PIXELS

#: Per-file outcomes of :func:`read_spectra`.
READ_OK, READ_MISSING, READ_UNREADABLE = "ok", "missing", "unreadable"


def _check_grid(header, path) -> None:
    """Raise if a header declares a log-linear wavelength grid other than APOGEE's."""
    for key, expected in (("CRVAL1", LOG10_LAMBDA_START), ("CDELT1", LOG10_LAMBDA_STEP)):
        value = header.get(key)
        if value is not None and not np.isclose(float(value), expected, rtol=0, atol=1e-9):
            raise ValueError(
                f"{path}: {key} = {value} but the APOGEE grid has {key} = {expected}; "
                "this is not a combined apStar/aspcapStar spectrum on the common grid"
            )


def _combined_row(data, path, what: str) -> np.ndarray:
    """Return the combined spectrum (8575,) of one HDU's data (1-D, or 2-D first row)."""
    if data is None:
        raise ValueError(f"{path}: the {what} HDU is empty; expected an array with {N_PIXELS} pixels")
    data = np.asarray(data)
    if data.ndim == 2 and data.shape[0] >= 1:
        data = data[0]
    if data.ndim != 1 or data.shape[0] != N_PIXELS:
        raise ValueError(
            f"{path}: the {what} HDU has shape {np.shape(data)}; expected ({N_PIXELS},) or "
            f"(n_rows, {N_PIXELS}) with the combined spectrum in row 0"
        )
    return data.astype(np.float32)


def read_spectrum(path) -> tuple[np.ndarray, np.ndarray]:
    """Read one aspcapStar or apStar file.

    Returns ``(flux, err)``, float32 arrays of shape (8575,) in the file's units (apStar:
    1e-17 erg / s / cm^2 / Angstrom; aspcapStar: ASPCAP-normalized, dimensionless). For a
    multi-visit apStar file the combined spectrum (row 0) is returned.

    Raises ``FileNotFoundError`` if the file does not exist and ``ValueError`` if it is not a
    readable spectrum file; both messages name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: spectrum file not found; download it or fix the path")
    try:
        with warnings.catch_warnings():
            # astropy warns (and then raises on data access) for truncated files.
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                if len(hdul) < 3:
                    raise ValueError(
                        f"{path}: has {len(hdul)} HDUs; an aspcapStar/apStar file has flux in HDU 1 "
                        "and its uncertainty in HDU 2"
                    )
                _check_grid(hdul[1].header, path)
                flux = _combined_row(hdul[1].data, path, "flux (HDU 1)")
                err = _combined_row(hdul[2].data, path, "uncertainty (HDU 2)")
    except ValueError:
        raise
    except (OSError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(
            f"{path}: cannot read as a FITS spectrum ({type(exc).__name__}: {exc}); "
            "the file is probably truncated or corrupt: delete and download it again"
        ) from exc
    return flux, err


def read_spectra(paths) -> tuple[np.ndarray, np.ndarray, Table]:
    """Read many spectrum files; a missing or unreadable file never stops the batch.

    Returns ``(flux, err, status)``: float32 arrays (n_files, 8575) and a Table with one row per
    input path (same order) and columns ``path``, ``status`` ('ok', 'missing' or 'unreadable')
    and ``reason`` (empty when ok). Rows of files that could not be read are NaN in ``flux`` and
    ``err``, so they are counted and never mistaken for data.
    """
    paths = [os.fspath(p) for p in paths]
    n = len(paths)
    flux = np.full((n, N_PIXELS), np.nan, dtype=np.float32)
    err = np.full((n, N_PIXELS), np.nan, dtype=np.float32)
    status = np.full(n, READ_OK, dtype=object)
    reason = np.full(n, "", dtype=object)
    for i, path in enumerate(paths):
        try:
            flux[i], err[i] = read_spectrum(path)
        except FileNotFoundError as exc:
            status[i], reason[i] = READ_MISSING, str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad file must not end a 45k-file batch
            status[i], reason[i] = READ_UNREADABLE, str(exc)
    table = Table(
        {"path": np.array(paths, dtype=str), "status": status.astype(str), "reason": reason.astype(str)}
    )
    return flux, err, table
