"""Reducing an allStar table to the pipeline's columns and the low-logg rows."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from spectroparallax.archives import allstar
from spectroparallax.archives.columns import ALLSTAR_COLUMNS
from spectroparallax.io.errors import InputFileError, MissingColumnError

LOGG = np.array([-9999.0, 0.0, 0.5, 2.2, 2.2001, 3.0, np.nan, 1.0, 2.19])
IDS = ["2M00000000+0000000", "2M00000001+0000001", "2M00000002+0000002", "2M00000003+0000003",
       "2M00000004+0000004", "2M00000005+0000005", "2M00000006+0000006", "2M00000002+0000002",
       "2M00000008+0000008"]


def fits_format(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "U":
        return f"{dtype.itemsize // 4}A"
    return {"i4": "J", "i8": "K", "f4": "E", "f8": "D"}[dtype.str[1:]]


def write_allstar(path, drop=()):
    """An allStar-like file: every pipeline column (upper case, FITS types), plus an array column."""
    n = LOGG.size
    rng = np.random.default_rng(1)
    cols = []
    for name, (dtype, unit, _) in ALLSTAR_COLUMNS.items():
        if name in drop:
            continue
        kind = np.dtype(dtype).kind
        if name == "APOGEE_ID":
            values = np.array(IDS)
        elif name == "LOGG":
            values = LOGG.astype(dtype)
        elif kind == "U":
            values = np.array([f"{name[:3].lower()}-{i}" for i in range(n)])
        elif kind == "f":
            values = rng.normal(10, 1, n).astype(dtype)
        else:
            values = np.arange(n, dtype=dtype) + 100
        cols.append(fits.Column(name=name, format=fits_format(dtype), array=values))
    cols.append(fits.Column(name="PARAM", format="7E", array=rng.normal(size=(n, 7)).astype("f4")))
    hdu = fits.BinTableHDU.from_columns(cols)
    hdu.data["J"][2] = -9999.0  # a missing magnitude in a kept row
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return Table.read(path)


def test_reduce_keeps_logg_range_columns_and_raw_values(tmp_path):
    src = write_allstar(tmp_path / "allStar-l31c.2.fits")
    out = allstar.reduce_allstar(tmp_path / "allStar-l31c.2.fits", tmp_path / "allstar_small.fits",
                                 logg_min=0.0, logg_max=2.2)
    keep = [2, 3, 7, 8]  # 0 < LOGG <= 2.2: not -9999, 0 (exclusive), 2.2001, 3, NaN
    back = Table.read(tmp_path / "allstar_small.fits")
    for table in (out, back):
        assert table.colnames == list(ALLSTAR_COLUMNS)
        assert list(table["APOGEE_ID"]) == [IDS[i] for i in keep]  # duplicated ID kept twice
        np.testing.assert_array_equal(table["LOGG"], LOGG[keep].astype("f4"))
        np.testing.assert_array_equal(table["TEFF"], src["TEFF"][keep])
        np.testing.assert_array_equal(table["ASPCAPFLAG"], src["ASPCAPFLAG"][keep])
        assert table["J"][0] == -9999.0
        assert list(table["TELESCOPE"]) == [f"tel-{i}" for i in keep]
    for name, (dtype, unit, _) in ALLSTAR_COLUMNS.items():
        assert out[name].dtype == np.dtype(dtype), name
        assert str(out[name].unit or "") == unit, name
    assert back.meta["NROWSIN"] == LOGG.size and back.meta["SRCFILE"] == "allStar-l31c.2.fits"


def test_reduce_uses_the_range_it_is_given(tmp_path):
    write_allstar(tmp_path / "a.fits")
    out = allstar.reduce_allstar(tmp_path / "a.fits", tmp_path / "b.fits", logg_min=0.4, logg_max=1.0)
    assert list(out["LOGG"]) == [np.float32(0.5), np.float32(1.0)]
    with pytest.raises(ValueError, match="logg_min"):
        allstar.reduce_allstar(tmp_path / "a.fits", tmp_path / "c.fits", logg_min=2.0, logg_max=1.0)


def test_missing_column_names_file_and_column(tmp_path):
    write_allstar(tmp_path / "allStar-bad.fits", drop=("SNR", "M_H"))
    with pytest.raises(MissingColumnError) as info:
        allstar.reduce_allstar(tmp_path / "allStar-bad.fits", tmp_path / "out.fits", logg_min=0.0, logg_max=2.2)
    msg = str(info.value)
    assert "\n" not in msg and "allStar-bad.fits" in msg and "SNR" in msg and "M_H" in msg
    assert info.value.missing == ["M_H", "SNR"]
    assert not (tmp_path / "out.fits").exists()


def test_not_a_fits_table(tmp_path):
    (tmp_path / "junk.fits").write_text("hello")
    with pytest.raises(InputFileError, match="junk.fits"):
        allstar.reduce_allstar(tmp_path / "junk.fits", tmp_path / "out.fits", logg_min=0.0, logg_max=2.2)
    fits.PrimaryHDU(np.zeros(3)).writeto(tmp_path / "image.fits")
    with pytest.raises(InputFileError, match="binary table"):
        allstar.reduce_allstar(tmp_path / "image.fits", tmp_path / "out.fits", logg_min=0.0, logg_max=2.2)
