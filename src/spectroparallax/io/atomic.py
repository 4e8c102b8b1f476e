"""Atomic file writes: write to a temporary file beside the target, then rename.

An interrupted run therefore never leaves a half-written file that Snakemake would take for a
finished output.
"""

import contextlib
import os
import tempfile
import warnings
from pathlib import Path

from astropy.utils.exceptions import AstropyUserWarning

#: astropy's warning when a FITS table drops a unit the FITS standard lacks. Expected for these
#: two, which the archives use (ASPCAP abundances in dex, Gaia fluxes in electron / s); the
#: pipeline never reads them back (archives/columns.py documents every column). Any other unit
#: still warns.
_EXPECTED_UNIT_LOSS = r"The unit '(dex|electron / s)' could not be saved in native FITS format"


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path in the target's directory; rename it onto ``path`` on success.

    The temporary name keeps the target's suffix (or ``suffix``) so that writers which choose a
    format by extension (astropy, numpy) still do. On any exception the temporary file is removed
    and the target is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=suffix if suffix is not None else "".join(path.suffixes)
    )
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(table, path, **kwargs) -> None:
    """Write an astropy Table atomically (format from the suffix: .fits, .csv, .ecsv, .vot...)."""
    fmt = kwargs.pop("format", None)
    if fmt is None and Path(path).suffix == ".vot":
        fmt = "votable"
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", _EXPECTED_UNIT_LOSS, AstropyUserWarning)
        table.write(tmp, overwrite=True, format=fmt, **kwargs)


def write_text(text: str, path) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_hdulist(hdulist, path) -> None:
    """Write an astropy.io.fits HDUList atomically."""
    with atomic_path(path) as tmp:
        hdulist.writeto(tmp, overwrite=True)
