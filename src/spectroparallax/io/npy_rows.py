"""Write a 2-D ``.npy`` file block of rows by block of rows, atomically.

For arrays too large to hold in memory at once (45k spectra x 8575 pixels, the design matrix):
the header is written first, then the rows in order with plain file writes, so the process holds
one block, not the array, and not a growing memory map of it. The file appears (by rename) only
once every row has been written; it then reads back with ``np.load(path, mmap_mode='r')``.
"""

import contextlib
import io

import numpy as np

from spectroparallax.io.atomic import atomic_path


class _RowWriter:
    def __init__(self, handle, shape, dtype):
        self._handle, self._shape, self._dtype = handle, shape, dtype
        self.rows_written = 0

    def write(self, rows) -> None:
        """Append rows, an array (m, n_columns) of the file's dtype and width."""
        rows = np.ascontiguousarray(rows)
        if rows.dtype != self._dtype or rows.ndim != 2 or rows.shape[1] != self._shape[1]:
            raise ValueError(f"rows {rows.dtype} {rows.shape} do not fit a {self._dtype} array of shape {self._shape}")
        if self.rows_written + rows.shape[0] > self._shape[0]:
            raise ValueError(f"more than the {self._shape[0]} rows declared for this file")
        self._handle.write(rows.reshape(-1).view(np.uint8))  # not tofile(): a full disk there can go unreported
        self.rows_written += rows.shape[0]


@contextlib.contextmanager
def npy_row_writer(path, shape, dtype=np.float32):
    """Context manager yielding a writer with ``write(rows)``; ``shape`` = (n_rows, n_columns).

    On leaving the block, exactly ``shape[0]`` rows must have been written (else ValueError and no
    file); the file is then renamed onto ``path``. A full disk raises
    :class:`~spectroparallax.io.atomic.DiskFullError` with the file's whole size.
    """
    dtype = np.dtype(dtype)
    shape = (int(shape[0]), int(shape[1]))
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        header, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    size = header.tell() + shape[0] * shape[1] * dtype.itemsize  # for the one line if the disk fills
    with atomic_path(path, suffix=".npy", size=size) as tmp, open(tmp, "wb") as handle:
        handle.write(header.getvalue())
        writer = _RowWriter(handle, shape, dtype)
        yield writer
        if writer.rows_written != shape[0]:
            raise ValueError(f"{path}: {writer.rows_written} rows written, {shape[0]} declared")


def npy_shape(path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, offset of the data in bytes) of a C-ordered ``.npy`` file."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(handle)
        if fortran_order:
            raise ValueError(f"{path}: Fortran-ordered array; expected a C-ordered .npy file")
        return shape, dtype, handle.tell()


def read_npy_rows(path, rows) -> np.ndarray:
    """Rows ``rows`` (any order, repeats allowed) of a 2-D ``.npy`` file, read without mapping it.

    A memory map would do the same with less code, but every page it touches (and the pages the
    kernel maps around each one) counts in the process's resident memory until it is unmapped;
    plain reads of the rows keep only the rows.
    """
    shape, dtype, offset = npy_shape(path)
    rows = np.asarray(rows, dtype=np.int64)
    if len(shape) != 2:
        raise ValueError(f"{path}: a {len(shape)}-D array; expected 2-D")
    if rows.size and (rows.min() < 0 or rows.max() >= shape[0]):
        raise IndexError(f"{path}: rows outside 0..{shape[0] - 1} requested")
    out = np.empty((rows.size, shape[1]), dtype=dtype)
    row_bytes = shape[1] * dtype.itemsize
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    # runs of consecutive (or repeated) rows are read with one call each
    breaks = np.flatnonzero(np.diff(ordered) > 1) + 1
    with open(path, "rb") as handle:
        for run in np.split(np.arange(rows.size), breaks):
            if not run.size:
                continue
            first, last = ordered[run[0]], ordered[run[-1]]
            handle.seek(offset + int(first) * row_bytes)
            block = np.fromfile(handle, dtype=dtype, count=int(last - first + 1) * shape[1])
            out[order[run]] = block.reshape(-1, shape[1])[ordered[run] - first]
    return out
