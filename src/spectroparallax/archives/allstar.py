"""Reduce the APOGEE allStar (or allStarLite) table of DR14, DR16 or DR17 to the columns and rows
the pipeline needs.

An allStar file is large (DR14 ~3.5 GB, mostly array columns) and is opened once: HER19 sec. 4
keeps stars with 0 < LOGG <= 2.2 (config ``sample.logg_min`` exclusive, ``sample.logg_max``
inclusive), and only the columns of ``columns.ALLSTAR_COLUMNS`` are read, through a memory map,
so memory stays near the size of the output. LOCATION_ID and FILE (not in allStarLite) are read
where present and required only where the release's aspcapStar path needs them
(``sas.path_columns``). Rows with duplicated APOGEE_IDs, -9999 and NaN values are kept as they are:
later steps decide about them; 2MASS magnitudes and errors >= 99 (the data model's "[bad=99]")
are written as NaN, so every step reads them as missing. Text (APOGEE_ID) is stripped, never
truncated. A
file that is not FITS, is truncated or has no table in HDU1 is set aside (``<name>.bad``) so the
next run downloads it again. The same function reduces a downloaded file, a
local SAS mirror's file or the mock survey's file.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from spectroparallax.io import atomic
from spectroparallax.archives import sas
from spectroparallax.archives.columns import (ALLSTAR_COLUMNS, ALLSTAR_OPTIONAL, TMASS_BAD, TMASS_COLUMNS,
                                              text_column)
from spectroparallax.io.bad_files import set_aside
from spectroparallax.io.errors import InputFileError, MissingColumnError, one_line



def advice(layout: Mapping | None) -> str:
    """What to do about a wrong allStar file: name the release's own file (sas.allstar_relpath)."""
    if layout is None:
        return "use an APOGEE allStar file of the configured release or regenerate the mock survey"
    return (f"use the APOGEE {layout['release'].upper()} file <SAS>/{sas.allstar_relpath(layout)} "
            "(survey, apogee.versions, apogee.allstar_lite in config.yaml) or regenerate the mock survey")

_REFETCH = ("rerun: the workflow downloads it again (with apogee.sas_root, put a good copy in the mirror; "
            "with the mock, rerun the mock_survey rule)")


def _bad_file(path, problem: str, set_aside_bad: bool) -> InputFileError:
    """The one-line error for a malformed allStar file, after setting the file aside if asked to."""
    where = set_aside(path) if set_aside_bad else "left in place"
    return InputFileError(path, f"reduce_allstar: {problem}; {where}", _REFETCH)


def _problem(hdul: fits.HDUList, size: int) -> str | None:
    """Why ``hdul`` is not a complete allStar file (no table in HDU1, truncated), or None."""
    if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
        return "HDU1 is not a binary table"
    for i in (0, 1):
        info = hdul.fileinfo(i)
        end = info["datLoc"] + info["datSpan"]
        if end > size:
            return f"truncated: HDU{i} ends at byte {end}, the file has {size}"
    return None


def reduce_allstar(src, dest, *, logg_min: float, logg_max: float, layout: Mapping | None = None,
                   columns: Mapping[str, tuple] = ALLSTAR_COLUMNS, set_aside_bad: bool = True) -> Table:
    """Keep rows with ``logg_min < LOGG <= logg_max`` [dex] and ``columns``; write them to ``dest``.

    ``src`` is an allStar FITS file (HDU1 binary table); column names are matched
    case-insensitively and cast to the dtypes of ``columns`` (name -> (dtype, unit,
    description)), with their units; ``ALLSTAR_OPTIONAL`` columns absent from the file are left
    out unless ``layout`` (sas.layout's dict: the release) needs them for its paths. Rows keep
    the file's order. ``dest`` is written atomically
    (format from its suffix, normally ``.fits``) with the cut and the source file in its header.
    Returns the written table.

    Raises MissingColumnError (naming the file and the columns) if a required column is absent,
    InputFileError if a column cannot be cast, InputFileError if no row is in the logg range
    (instead of a 0-row table that every later stage would trip over), and InputFileError after renaming ``src`` to
    ``<name>.bad`` (unless ``set_aside_bad`` is False) if it is not FITS, is truncated or has no
    table in HDU1.
    """
    src = Path(src)
    if not logg_min < logg_max:
        raise ValueError(f"logg_min ({logg_min}) must be below logg_max ({logg_max}); check sample.* in config.yaml")
    if "LOGG" not in columns:
        raise ValueError("columns must include LOGG, the column the rows are cut on")
    try:
        hdul = fits.open(src, memmap=True, lazy_load_hdus=False)
    except (FileNotFoundError, PermissionError):
        raise  # not the file's fault: leave it where it is
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise _bad_file(src, f"cannot be read as FITS ({one_line(exc)[:200]})", set_aside_bad) from exc
    with hdul:
        problem = _problem(hdul, src.stat().st_size)
        if problem:
            hdul.close()
            raise _bad_file(src, problem, set_aside_bad)
        hdu = hdul[1]
        names = {name.upper(): name for name in hdu.columns.names}
        needed = set(sas.path_columns(layout)) if layout is not None else set()
        optional = {name for name in ALLSTAR_OPTIONAL if name not in needed}
        missing = [name for name in columns if name.upper() not in names and name not in optional]
        if missing:
            raise MissingColumnError(src, missing, advice(layout))
        columns = {name: spec for name, spec in columns.items() if name.upper() in names}
        data = hdu.data
        logg = np.asarray(data.field(names["LOGG"]))
        if logg.dtype.kind != "f":
            raise InputFileError(src, f"column LOGG holds {logg.dtype}, expected floats", advice(layout))
        # Compare in the column's own precision: float32 LOGG = 2.2 is above float64 2.2 and would
        # otherwise fall out of an inclusive upper bound. NaN and -9999 are never kept.
        lo, hi = np.array([logg_min, logg_max]).astype(logg.dtype)
        rows = np.flatnonzero((logg > lo) & (logg <= hi))
        if rows.size == 0:
            raise InputFileError(
                src, f"reduce_allstar: no row has {logg_min} < LOGG <= {logg_max} ({len(logg)} rows read, 0 kept; "
                f"{int(np.isfinite(logg).sum())} with a finite LOGG)",
                "check sample.logg_min / logg_max and that the file is an APOGEE allStar file")
        out = Table()
        n_bad99 = 0
        for name, (dtype, unit, description) in columns.items():
            values = np.asarray(data.field(names[name.upper()])[rows])
            try:
                if np.dtype(dtype).kind == "U":
                    values = text_column(values, dtype, name)
                elif values.dtype.kind in "SUO":
                    raise TypeError(f"holds text ({values.dtype}), expected {dtype}")
                else:
                    values = values.astype(dtype)
                    if name in TMASS_COLUMNS:
                        bad = values >= TMASS_BAD
                        values[bad] = np.nan   # "[bad=99]": missing, like -9999 and NaN
                        n_bad99 += int(bad.sum())
            except (TypeError, ValueError, UnicodeDecodeError) as exc:
                raise InputFileError(src, f"column {name} cannot be read as {dtype}: {one_line(exc)}",
                                     advice(layout)) from exc
            out[name] = values
            out[name].unit = unit or None
            out[name].description = description
        n_in = len(logg)
    out.meta["SRCFILE"] = src.name
    out.meta["NROWSIN"] = n_in
    out.meta["NBAD99"] = (n_bad99, "2MASS values >= 99 ([bad=99]) written as NaN")
    out.meta["LOGGMIN"] = (float(logg_min), "LOGG > LOGGMIN (exclusive)")
    out.meta["LOGGMAX"] = (float(logg_max), "LOGG <= LOGGMAX (inclusive)")
    atomic.write_table(out, dest)
    return out
