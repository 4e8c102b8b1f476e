"""Atomic file writes: write to a temporary file beside the target, then rename.

An interrupted run therefore never leaves a half-written file that Snakemake would take for a
finished output. The temporary file has a fixed name, ``.incomplete.<target name>``, so one that a
killed process (SIGKILL, a node lost) left behind is found and removed by the next write of the
same target, and no output pattern of the workflow matches it.
"""

import contextlib
import os
from pathlib import Path

#: Prefix of every temporary file name (``.incomplete.catalog.fits`` for ``catalog.fits``).
TEMP_PREFIX = ".incomplete."


def temp_path(path, suffix: str | None = None) -> Path:
    """The temporary file that :func:`atomic_path` writes ``path`` through.

    It ends like the target (or with ``suffix``) so that writers which choose a format by
    extension (astropy, numpy, matplotlib) still do.
    """
    path = Path(path)
    extra = suffix if suffix and not path.name.endswith(suffix) else ""
    return path.with_name(f"{TEMP_PREFIX}{path.name}{extra}")


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path in the target's directory; rename it onto ``path`` on success.

    A temporary file left by an earlier, killed write of the same target is removed first. The
    file is created with the permissions of any file the user writes (``0o666`` less the umask),
    so results stay readable by the group where the umask says so. On any exception the temporary
    file is removed and the target is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, suffix)
    try:
        tmp.unlink(missing_ok=True)  # never write into a stale file: it may be a hard link to another run's
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_table(table, path, **kwargs) -> None:
    """Write an astropy Table atomically (format from the suffix: .fits, .csv, .ecsv, .vot...)."""
    fmt = kwargs.pop("format", None)
    if fmt is None and Path(path).suffix == ".vot":
        fmt = "votable"
    with atomic_path(path) as tmp:
        table.write(tmp, overwrite=True, format=fmt, **kwargs)


def write_text(text: str, path) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_hdulist(hdulist, path) -> None:
    """Write an astropy.io.fits HDUList atomically."""
    with atomic_path(path) as tmp:
        hdulist.writeto(tmp, overwrite=True)
