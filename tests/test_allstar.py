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


# DR17 APOGEE_IDs are char[30] (sas_layout.md sec. 7): a padded 2MASS ID, a 2MASS designation with a
# close-pair suffix that the old U18 cast cut onto its neighbour's ID, and non-2MASS names (apo1m and
# commissioning targets) that must come through intact.
DR17_IDS = ["2M19485057+5005279", "2M19485057+5005279B", "  2M17335483-2753043", "2M16333217+3942519   ",
            "apo1m_comm_M67-1234567890", "VESTA", "2M00000002+7417074", "2M00000002+7417074", "TOI-1234.01_comm"]


def test_long_and_padded_ids_are_stripped_never_truncated(tmp_path):
    from spectroparallax.archives.columns import is_tmass_id, tmass_designation
    n = len(DR17_IDS)
    cols = [fits.Column(name=name, format=fits_format(dtype) if name != "APOGEE_ID" else "30A",
                        array=np.array(DR17_IDS) if name == "APOGEE_ID" else
                        (np.full(n, 1.0, dtype) if np.dtype(dtype).kind == "f" else
                         np.array(["x"] * n) if np.dtype(dtype).kind == "U" else np.zeros(n, dtype)))
            for name, (dtype, _, _) in ALLSTAR_COLUMNS.items()]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(tmp_path / "allStar-dr17.fits")
    out = allstar.reduce_allstar(tmp_path / "allStar-dr17.fits", tmp_path / "small.fits", logg_min=0.0, logg_max=2.2)
    expected = [i.strip() for i in DR17_IDS]
    assert list(out["APOGEE_ID"]) == expected
    assert list(Table.read(tmp_path / "small.fits")["APOGEE_ID"]) == expected
    # Distinct stars stay distinct; the one true repeat stays a repeat.
    assert len(set(out["APOGEE_ID"])) == len(set(expected)) == n - 1
    assert is_tmass_id(out["APOGEE_ID"]).tolist() == [True, True, True, True, False, False, True, True, False]
    assert tmass_designation(out["APOGEE_ID"])[:3].tolist() == ["19485057+5005279", "19485057+5005279B",
                                                               "17335483-2753043"]


def test_an_id_longer_than_the_column_width_is_an_error_not_a_cut(tmp_path):
    from spectroparallax.archives.columns import text_column
    with pytest.raises(ValueError, match="APOGEE_ID .* longer than 18 characters.*2M19485057\\+5005279B"):
        text_column(np.array([b"2M19485057+5005279B "]), "U18", "APOGEE_ID")
    assert text_column(np.array([b"  2M19485057+5005279   "]), "U18", "APOGEE_ID").tolist() == ["2M19485057+5005279"]


def test_truncated_allstar_is_named_and_set_aside(tmp_path):
    """An allStar download cut short: one line naming the file; the file renamed to .bad so the next
    run fetches it again; no reduced table written."""
    import os
    path = tmp_path / "allStar-l31c.2.fits"
    write_allstar(path)
    os.truncate(path, path.stat().st_size - 2880)
    with pytest.raises(InputFileError) as info:
        allstar.reduce_allstar(path, tmp_path / "out.fits", logg_min=0.0, logg_max=2.2)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and "truncated" in msg and "allStar-l31c.2.fits.bad" in msg
    assert "downloads it again" in msg
    assert not path.exists() and (tmp_path / "allStar-l31c.2.fits.bad").exists()
    assert not (tmp_path / "out.fits").exists()
    # Not FITS at all: the same.
    (tmp_path / "junk.fits").write_text("<html>502 Bad Gateway</html>")
    with pytest.raises(InputFileError, match="junk.fits.bad"):
        allstar.reduce_allstar(tmp_path / "junk.fits", tmp_path / "out.fits", logg_min=0.0, logg_max=2.2)
    assert not (tmp_path / "junk.fits").exists()


def test_no_row_in_the_logg_range_is_one_line_and_writes_nothing(tmp_path):
    write_allstar(tmp_path / "allStar-l31c.2.fits")
    with pytest.raises(InputFileError, match=r"allStar-l31c.2.fits: reduce_allstar: no row has 3.0 < LOGG <= "
                       r"4.0 \(9 rows read, 0 kept; 8 with a finite LOGG\); check sample.logg_min / logg_max"):
        allstar.reduce_allstar(tmp_path / "allStar-l31c.2.fits", tmp_path / "out.fits", logg_min=3.0, logg_max=4.0)
    assert not (tmp_path / "out.fits").exists() and (tmp_path / "allStar-l31c.2.fits").exists()


# ---------------------------------------------------------------------------------------------
# Per-release tables built from shared/data/sas_layout.md sec. 7 (names and FITS types per release).

VERSIONS = {"dr14": {"apred": "r8", "aspcap": "l31c", "results": "l31c.2"}, "dr16": {"apred": "r12", "aspcap": "l33"},
            "dr17": {"apred": "dr17", "aspcap": "synspec_rev1"}}
#: column -> FITS format per release (sec. 7); LOCATION_ID and FILE are not in allStarLite.
RELEASE_FORMATS = {
    "dr14": {"APOGEE_ID": "18A", "TELESCOPE": "8A", "LOCATION_ID": "I", "FIELD": "16A", "FILE": "38A",
             "ASPCAPFLAG": "J", "STARFLAG": "J", "EXTRATARG": "I"},
    "dr16": {"APOGEE_ID": "18A", "TELESCOPE": "8A", "LOCATION_ID": "J", "FIELD": "16A", "FILE": "39A",
             "ASPCAPFLAG": "J", "STARFLAG": "J", "EXTRATARG": "I"},
    "dr17": {"APOGEE_ID": "30A", "TELESCOPE": "6A", "LOCATION_ID": "J", "FIELD": "20A", "FILE": "64A",
             "ASPCAPFLAG": "K", "STARFLAG": "K", "EXTRATARG": "J"},
}
FLOAT64 = ("RA", "DEC", "GLON", "GLAT")
#: (APOGEE_ID, TELESCOPE, LOCATION_ID, FIELD, EXTRATARG): an apo25m row, an apo1m row (LOCATION_ID 1,
#: bit 3 APO1M), an lco25m row (not in DR14) flagged as a duplicate (bit 4).
ROWS = [("2M16333217+3942519", "apo25m", 2231, "064+42_MGA", 0),
        ("2M08514388+1146240", "apo1m", 1, "M67", 8),
        ("2M17335483-2753043", "lco25m", 5001, "000+02", 16)]
#: A DR17 ID longer than DR14's 18 characters (25): must come through whole.
LONG_ID = "2M17335483-2753043_comm42"


def write_release_allstar(path, release, lite=False):
    rows = ROWS[:2] if release == "dr14" else ROWS
    ids = [r[0] for r in rows]
    if release == "dr17":
        ids[1] = LONG_ID
    n = len(rows)
    fmt = RELEASE_FORMATS[release]
    cols = []
    for name, (dtype, _, _) in ALLSTAR_COLUMNS.items():
        if lite and name in ("LOCATION_ID", "FILE"):
            continue
        values = {"APOGEE_ID": np.array(ids), "TELESCOPE": np.array([r[1] for r in rows]),
                  "LOCATION_ID": np.array([r[2] for r in rows]), "FIELD": np.array([r[3] for r in rows]),
                  "EXTRATARG": np.array([r[4] for r in rows]),
                  "FILE": np.array([f"apStar-{VERSIONS[release]['apred']}-{i}.fits" for i in ids]),
                  "LOGG": np.full(n, 1.5), "J": np.array([99.0, 11.0, 11.5]), "K_ERR": np.array([0.02, 99.0, 0.03]),
                  "H": np.array([10.0, np.nan, 10.5]), "K": np.array([9.0, 9.1, -9999.0]),
                  "TEFF": np.array([np.nan, 4500.0, -9999.0])}.get(name, np.arange(n) + 1.0)[:n]
        form = fmt.get(name, "D" if name in FLOAT64 else "E" if np.dtype(dtype).kind == "f" else "J")
        cols.append(fits.Column(name=name, format=form, array=values))
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)


@pytest.mark.parametrize("release, lite", [("dr14", False), ("dr16", False), ("dr16", True), ("dr17", False),
                                           ("dr17", True)])
def test_each_release_reads_keys_whole_and_99_nan_minus9999_as_missing(tmp_path, release, lite):
    from spectroparallax.archives import sas
    from spectroparallax.archives.columns import as_float
    layout = sas.layout(release, VERSIONS, lite=lite)
    write_release_allstar(tmp_path / "allStar.fits", release, lite)
    out = allstar.reduce_allstar(tmp_path / "allStar.fits", tmp_path / "small.fits", logg_min=0.0, logg_max=2.2,
                                 layout=layout)
    n = 2 if release == "dr14" else 3
    ids = [r[0] for r in ROWS[:n]]
    if release == "dr17":
        ids[1] = LONG_ID
    assert list(out["APOGEE_ID"]) == ids
    assert list(out["TELESCOPE"]) == [r[1] for r in ROWS[:n]] and list(out["FIELD"]) == [r[3] for r in ROWS[:n]]
    assert list(out["EXTRATARG"]) == [r[4] for r in ROWS[:n]]
    assert ("LOCATION_ID" in out.colnames) == (not lite) == ("FILE" in out.colnames)
    if not lite:
        assert list(out["LOCATION_ID"]) == [r[2] for r in ROWS[:n]]
    # 2MASS "[bad=99]" is NaN on disk; NaN stays NaN; -9999 stays the allStar sentinel, missing to as_float.
    assert np.isnan(out["J"][0]) and np.isnan(out["K_ERR"][1]) and np.isnan(out["H"][1])
    assert out["J"][1] == np.float32(11.0) and out["K_ERR"][0] == np.float32(0.02)
    assert np.isnan(as_float(out["TEFF"][:1])).all()
    if n == 3:
        assert out["K"][2] == -9999.0 and np.isnan(as_float(out["K"])[2])
    # The reduced rows give the release's own paths (apo1m under its FIELD; LOCATION_ID only in DR14).
    rel = str(sas.aspcapstar_relpath(layout, dict(zip(out.colnames, out[1]))))
    if release == "dr14":
        assert rel == "dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/M67/aspcapStar-r8-l31c.2-2M08514388+1146240.fits"
    else:
        assert rel.endswith(f"/apo1m/M67/aspcapStar-{VERSIONS[release]['apred']}-{ids[1]}.fits")


def test_a_lite_table_is_refused_where_the_release_needs_location_id(tmp_path):
    """DR14's paths need LOCATION_ID: a table without it stops with one line naming the column and
    the DR14 file to use. DR16 reads the same table (its paths need TELESCOPE and FIELD only), and
    its advice names the DR16 file."""
    from spectroparallax.archives import sas
    write_release_allstar(tmp_path / "lite.fits", "dr14", lite=True)
    with pytest.raises(MissingColumnError) as info:
        allstar.reduce_allstar(tmp_path / "lite.fits", tmp_path / "out.fits", logg_min=0.0, logg_max=2.2,
                               layout=sas.layout("dr14", VERSIONS))
    assert info.value.missing == ["LOCATION_ID"] and "\n" not in str(info.value)
    assert "dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits" in str(info.value)
    write_release_allstar(tmp_path / "lite16.fits", "dr16", lite=True)
    with fits.open(tmp_path / "lite16.fits") as hdul:   # a DR16 Lite table without SNR
        cols = [c for c in hdul[1].columns if c.name != "SNR"]
        fits.BinTableHDU.from_columns(cols).writeto(tmp_path / "nosnr.fits")
    with pytest.raises(MissingColumnError, match="dr16/apogee/spectro/aspcap/r12/l33/allStarLite-r12-l33.fits"):
        allstar.reduce_allstar(tmp_path / "nosnr.fits", tmp_path / "out.fits", logg_min=0.0, logg_max=2.2,
                               layout=sas.layout("dr16", VERSIONS, lite=True))


def test_the_99_values_are_counted_in_the_header(tmp_path):
    from spectroparallax.archives import sas
    write_release_allstar(tmp_path / "a.fits", "dr16")
    allstar.reduce_allstar(tmp_path / "a.fits", tmp_path / "b.fits", logg_min=0.0, logg_max=2.2,
                           layout=sas.layout("dr16", VERSIONS))
    assert Table.read(tmp_path / "b.fits").meta["NBAD99"] == 2   # J of row 0, K_ERR of row 1
