"""Atomic file writes: write to a temporary file beside the target, then rename.

An interrupted run therefore never leaves a half-written file that Snakemake would take for a
finished output. The temporary file has a fixed name, ``.incomplete.<target name>``, so one that a
killed process (SIGKILL, a node lost) left behind is found and removed by the next write of the
same target, and no output pattern of the workflow matches it.
"""

import contextlib
import errno
import os
import shutil
import warnings
from pathlib import Path

from astropy.utils.exceptions import AstropyUserWarning

from spectroparallax.io.errors import OneLineError

#: astropy's warning when a FITS table drops a unit the FITS standard lacks. Expected for these
#: two, which the archives use (ASPCAP abundances in dex, Gaia fluxes in electron / s); the
#: pipeline never reads them back (archives/columns.py documents every column). Any other unit
#: still warns.
_EXPECTED_UNIT_LOSS = r"The unit '(dex|electron / s)' could not be saved in native FITS format"
#: Prefix of every temporary file name (``.incomplete.catalog.fits`` for ``catalog.fits``).
TEMP_PREFIX = ".incomplete."
#: The errors that mean "no room left": a full file system, or the user's quota reached.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OneLineError, OSError):
    """A write ran out of disk space (or quota); ``str()`` is one line naming the file and the space.

    ``needed`` is the size the file needed in bytes when the writer knew it (else None), ``written``
    what had been written when the disk filled, ``free`` what is free there once the partial files
    are gone. ``alongside`` lists (path, size or None) of the files the same code was writing at
    the same time (the enclosing :func:`atomic_path` blocks, e.g. X.npy while X_err.npy filled the
    disk): the job needs room for those too.
    """

    def __init__(self, path, code: int, written: int, needed: int | None, free: int):
        self.path, self.written, self.needed, self.free = str(path), written, needed, free
        self.alongside: list[tuple[str, int | None]] = []
        super().__init__(code, os.strerror(code), self.path)

    def __str__(self) -> str:
        sizes = [self.needed] + [size for _, size in self.alongside]
        total = None if None in sizes else sum(sizes)
        if self.needed is None and self.written == 0:
            need = "the disk was full before any of it was written"
        elif self.needed is None:
            need = f"{_size(self.written)} of it written when the disk filled, the whole file needs more"
        else:
            need = f"the file needs {_size(self.needed)}"
        if self.alongside:
            names = " and ".join(Path(other).name for other, _ in self.alongside)
            need += (f", {_size(total)} with {names} written alongside it" if total is not None
                     else f", besides {names} written alongside it")
        if total is not None and total > self.free:
            short = f"free at least {_size(total - self.free)} more"
        else:  # the size is unknown, or a quota (not the disk) is what is full
            short = "free more space"
        return (f"{self.path}: {os.strerror(self.errno).lower()} ({need}; {_size(self.free)} free there); "
                f"{short} on that disk (or move the folder to a larger one) and rerun")


def _size(n: int) -> str:
    """``n`` bytes for a person: '512 B', '3.4 KiB', '1.3 GiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def _disk_full_code(exc: BaseException) -> int | None:
    """ENOSPC or EDQUOT if ``exc`` or an exception it was raised from means the disk is full."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL:
            return exc.errno
        exc = exc.__cause__ or exc.__context__
    return None


def temp_path(path, suffix: str | None = None) -> Path:
    """The temporary file that :func:`atomic_path` writes ``path`` through.

    It ends like the target (or with ``suffix``) so that writers which choose a format by
    extension (astropy, numpy, matplotlib) still do.
    """
    path = Path(path)
    extra = suffix if suffix and not path.name.endswith(suffix) else ""
    return path.with_name(f"{TEMP_PREFIX}{path.name}{extra}")


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None, size: int | None = None):
    """Yield a temporary path in the target's directory; rename it onto ``path`` on success.

    A temporary file left by an earlier, killed write of the same target is removed first. The
    file is created with the permissions of any file the user writes (``0o666`` less the umask),
    so results stay readable by the group where the umask says so. On any exception the temporary
    file is removed and the target is left untouched; if the disk (or quota) is full, the exception
    is a :class:`DiskFullError` naming ``path`` and the space: ``size``, the file's size in bytes
    when the caller knows it, or else what had been written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, suffix)
    try:
        tmp.unlink(missing_ok=True)  # never write into a stale file: it may be a hard link to another run's
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        yield tmp
        os.replace(tmp, path)
    except DiskFullError as exc:  # raised by a write nested in this one: this file needs room too
        exc.alongside.append((str(path), size))
        tmp.unlink(missing_ok=True)
        exc.free = shutil.disk_usage(path.parent).free
        raise
    except OSError as exc:
        code = _disk_full_code(exc)
        if code is None:
            raise
        written = tmp.stat().st_size if tmp.exists() else 0
        tmp.unlink(missing_ok=True)
        raise DiskFullError(path, code, written, size, shutil.disk_usage(path.parent).free) from exc
    finally:
        tmp.unlink(missing_ok=True)


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
