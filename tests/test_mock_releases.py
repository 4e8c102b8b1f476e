"""The mock survey in the DR14, DR16 and DR17 formats, checked against the fact sheet.

Every expected path, column type, header key and gap convention below is written by hand from
shared/data/sas_layout.md (sections 1-3, 5, 7), not from the mock's or the readers' code: the
mock is what the readers are tested on, so it must be right on its own.
"""

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from spectroparallax.mock import write_mock_survey
from spectroparallax.mock import writers
from spectroparallax.mock.catalog import simulate_catalog

N = 300
SEED = 8
VERSIONS = {"dr14": {"apred": "r8", "aspcap": "l31c", "results": "l31c.2"},
            "dr16": {"apred": "r12", "aspcap": "l33"},
            "dr17": {"apred": "dr17", "aspcap": "synspec_rev1"}}
#: sec. 2: the allStar file of each release.
ALLSTAR = {"dr14": "dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits",
           "dr16": "dr16/apogee/spectro/aspcap/r12/l33/allStar-r12-l33.fits",
           "dr17": "dr17/apogee/spectro/aspcap/dr17/synspec_rev1/allStar-dr17-synspec_rev1.fits"}
#: sec. 7: FITS column formats of the allStar columns the workflow needs.
FORMATS = {
    "dr14": {"APOGEE_ID": "18A", "TELESCOPE": "8A", "LOCATION_ID": "I", "FIELD": "16A", "FILE": "38A",
             "EXTRATARG": "I", "ASPCAPFLAG": "J", "STARFLAG": "J"},
    "dr16": {"APOGEE_ID": "18A", "TELESCOPE": "8A", "LOCATION_ID": "J", "FIELD": "16A", "FILE": "39A",
             "EXTRATARG": "I", "ASPCAPFLAG": "J", "STARFLAG": "J"},
    "dr17": {"APOGEE_ID": "30A", "TELESCOPE": "6A", "LOCATION_ID": "J", "FIELD": "20A", "FILE": "64A",
             "EXTRATARG": "J", "ASPCAPFLAG": "K", "STARFLAG": "K"},
}
COMMON_FORMATS = {**{c: "D" for c in ("RA", "DEC", "GLON", "GLAT")},
                  **{c: "E" for c in ("J", "H", "K", "J_ERR", "H_ERR", "K_ERR", "TEFF", "LOGG", "M_H",
                                      "ALPHA_M", "FE_H", "SNR", "VHELIO_AVG")}}
#: sec. 5: ASPCAP's chip ranges on the 8575 grid (0-based, end exclusive).
ASPCAP_CHIPS = [(246, 3274), (3585, 6080), (6344, 8335)]
#: HER19's chip ranges in Angstrom (sec. 5, [HER] NormalizeData): where the DR14 mock has data.
HER19_CHIPS = [(15150.0, 15800.0), (15890.0, 16430.0), (16490.0, 16950.0)]


def _outside(ranges):
    out = np.ones(8575, bool)
    for lo, hi in ranges:
        out[lo:hi] = False
    return out


def _text(column):
    return np.char.strip(np.asarray(column).astype(str))


@pytest.fixture(scope="module", params=["dr14", "dr16", "dr17"])
def mock(request, tmp_path_factory):
    release = request.param
    out = tmp_path_factory.mktemp(release)
    paths = write_mock_survey(out, release, VERSIONS[release], N, SEED, lite=release != "dr14",
                              apo1m_fraction=0.03, missing_spectrum_fraction=0.02)
    return (release, paths, Table.read(paths["allstar"], hdu=1, mask_invalid=False),
            Table.read(paths["truth"], mask_invalid=False))


def expected_path(release, row):
    """Hand-written from sec. 3."""
    tel, field, loc, obj, file = (str(row[c]).strip() for c in ("TELESCOPE", "FIELD", "LOCATION_ID", "APOGEE_ID",
                                                                "FILE"))
    if release == "dr14":
        base = "dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2"
        if tel == "apo1m":
            return f"{base}/{field}/" + file.replace("apStar-r8-", "aspcapStar-r8-l31c.2-")
        return f"{base}/{loc}/aspcapStar-r8-l31c.2-{obj}.fits"
    if release == "dr16":
        return f"dr16/apogee/spectro/aspcap/r12/l33/{tel}/{field}/aspcapStar-r12-{obj}.fits"
    return f"dr17/apogee/spectro/aspcap/dr17/synspec_rev1/{tel}/{field}/aspcapStar-dr17-{obj}.fits"


def expected_sha1sum(release, row):
    tel, field, loc = (str(row[c]).strip() for c in ("TELESCOPE", "FIELD", "LOCATION_ID"))
    if release == "dr14":
        return f"stars_l31c_l31c.2_{field if tel == 'apo1m' else loc}.sha1sum"
    if release == "dr16":
        return f"r12_l33_{tel}_{field}.sha1sum"
    return f"dr17_synspec_rev1_lco25m_{field}.sha1sum" if tel == "lco25m" else f"dr17_synspec_{tel}_{field}.sha1sum"


def test_allstar_path_columns_and_missing_values(mock):
    release, paths, allstar, truth = mock
    assert paths["allstar"] == paths["sas"] / ALLSTAR[release]
    with fits.open(paths["allstar"]) as h:
        formats = {c.name: c.format for c in h[1].columns}
    for name, fmt in {**FORMATS[release], **COMMON_FORMATS}.items():
        assert formats[name] == fmt, (release, name, formats[name])
    aspcap = np.array([np.asarray(allstar[c], float) for c in ("TEFF", "LOGG", "M_H", "ALPHA_M")])
    failed = np.asarray(truth["aspcap_failed"], bool)
    assert failed.any()
    if release == "dr17":      # sec. 7: NaN, never -9999, in DR17's TEFF, LOGG, M_H, ALPHA_M
        assert np.all(aspcap != -9999) and np.all(np.isnan(aspcap[1]) == failed)
    else:
        assert not np.isnan(aspcap).any() and np.all((aspcap[1] == -9999) == failed)


def test_telescopes_per_release(mock):
    release, _, allstar, truth = mock
    tel = _text(allstar["TELESCOPE"])
    want = {"dr14": {"apo25m", "apo1m"}, "dr16": {"apo25m", "apo1m", "lco25m"}, "dr17": {"apo25m", "apo1m", "lco25m"}}
    assert set(tel) == want[release]                       # DR14 has no lco25m (sec. 3)
    assert np.all(np.asarray(allstar["LOCATION_ID"])[tel == "apo1m"] == 1)
    assert np.array_equal(_text(truth["TELESCOPE"]), tel)
    files = _text(allstar["FILE"])
    prefix = np.where(tel == "lco25m", "asStar-", "apStar-")       # lco25m apStar files are asStar-
    want_file = np.char.add(np.char.add(np.char.add(prefix, VERSIONS[release]["apred"] + "-"),
                                        _text(allstar["APOGEE_ID"])), ".fits")
    assert np.array_equal(files, want_file)
    if release != "dr14":     # the LCO fields are the southernmost
        dec = np.asarray(allstar["DEC"])
        assert np.median(dec[tel == "lco25m"]) < np.percentile(dec[tel == "apo25m"], 20)


def test_dr17_long_ids_are_intact(mock):
    release, paths, allstar, truth = mock
    ids = _text(allstar["APOGEE_ID"])
    long = np.char.str_len(ids) > 18
    if release != "dr17":
        assert not long.any() and np.all(np.char.str_len(ids) == 18)
        return
    assert long.any() and np.all(np.char.str_len(ids) <= 30)
    assert np.array_equal(long, ~np.asarray(truth["has_2mass_id"], bool))
    assert np.array_equal(_text(truth["APOGEE_ID"]), ids)
    status = _text(truth["spectrum_status"])
    for i in np.flatnonzero(long & (status == "ok")):
        path = paths["sas"] / expected_path(release, allstar[i])
        with fits.open(path) as h:
            assert str(h[4].data["APOGEE_ID"][0]).strip() == ids[i]


def test_aspcapstar_files_at_the_sheets_paths_with_the_sheets_layout(mock):
    release, paths, allstar, truth = mock
    status = _text(truth["spectrum_status"])
    tel = _text(allstar["TELESCOPE"])
    written = {p.relative_to(paths["sas"]).as_posix() for p in paths["sas"].rglob("aspcapStar-*.fits")}
    expected = {expected_path(release, allstar[i]) for i in np.flatnonzero(np.isin(status, ["ok", "unreadable"]))}
    assert written == expected and len(expected) == np.isin(status, ["ok", "unreadable"]).sum()
    wl = 10 ** (4.179 + 6e-6 * np.arange(8575))
    her19 = np.zeros(8575, bool)
    for lo, hi in HER19_CHIPS:
        her19 |= (wl >= lo) & (wl <= hi)
    no_data = _outside(ASPCAP_CHIPS) | ~her19 if release != "dr14" else ~her19
    dtype = ">f8" if release == "dr17" else ">f4"
    checked = {t: 0 for t in set(tel)}
    for i in np.flatnonzero(status == "ok"):
        with fits.open(paths["sas"] / expected_path(release, allstar[i])) as h:
            assert len(h) == 5 and h[0].data is None
            if release == "dr14":
                assert h[0].header["OBJ"] == str(allstar["APOGEE_ID"][i]).strip()
                assert h[0].header["LOCID"] == allstar["LOCATION_ID"][i]
                assert h[0].header["FIELD"].strip() == str(allstar["FIELD"][i]).strip()
                assert {"RA", "DEC", "J", "H", "K", "SNR", "VHELIO"} <= set(h[0].header)
            else:
                assert h[0].header["VERSION"] == VERSIONS[release]["aspcap"]
            for k in (1, 2, 3):
                hd = h[k].header
                assert h[k].data.shape == (8575,) and h[k].data.dtype == np.dtype(dtype)
                assert (hd["CRVAL1"], hd["CDELT1"], hd["CRPIX1"], hd["CTYPE1"], hd["DC-FLAG"]) == (
                    4.179, 6e-6, 1, "LOG-LINEAR", 1)
                assert "BUNIT" not in hd
            flux, err, model = h[1].data, h[2].data, h[3].data
            # sec. 5: no data = flux 0, error 0 (not 1e10, not NaN), model 0
            assert np.all(flux[no_data] == 0) and np.all(err[no_data] == 0) and np.all(model[no_data] == 0)
            assert np.all(err >= 0) and np.array_equal(err == 0, flux == 0)
            if release != "dr14":
                assert np.all(flux[_outside(ASPCAP_CHIPS)] == 0) and np.all(err[_outside(ASPCAP_CHIPS)] == 0)
            labels = np.array([allstar[c][i] for c in ("TEFF", "LOGG", "FE_H", "ALPHA_M")], float)
            if np.all(np.isfinite(labels) & (labels != -9999)):     # a model at the ASPCAP labels
                assert np.all((model[~no_data] > 0) & (model[~no_data] <= 1))
            else:                                                   # no labels, no model
                assert np.all(model == 0)
            rec = h[4].data
            assert isinstance(h[4], fits.BinTableHDU) and len(rec) == 1
            for c in ("APOGEE_ID", "TELESCOPE", "FIELD"):
                assert str(rec[c][0]).strip() == str(allstar[c][i]).strip()
            for c in ("SNR", "TEFF", "LOGG"):
                assert rec[c][0] == allstar[c][i] or (np.isnan(rec[c][0]) and np.isnan(allstar[c][i]))
        checked[tel[i]] += 1
    assert all(n > 0 for n in checked.values()), checked


def test_sha1sum_lists_cover_the_files_with_the_complete_files_sums(mock):
    release, paths, allstar, truth = mock
    status = _text(truth["spectrum_status"])
    lists = {p.relative_to(paths["sas"]).as_posix(): p for p in paths["sas"].rglob("*.sha1sum")}
    want = {str(Path(expected_path(release, allstar[i])).parent / expected_sha1sum(release, allstar[i]))
            for i in np.flatnonzero(np.isin(status, ["ok", "unreadable"]))}
    assert set(lists) == want
    listed = {}
    for rel, p in lists.items():
        for line in p.read_text().splitlines():
            assert re.fullmatch(r"[0-9a-f]{40} aspcapStar-\S+\.fits", line), line
            sha, name = line.split(" ")
            listed[str(Path(rel).parent / name)] = sha
    files = {p.relative_to(paths["sas"]).as_posix(): p for p in paths["sas"].rglob("aspcapStar-*.fits")}
    assert set(listed) == set(files)
    (bad,) = np.flatnonzero(status == "unreadable")
    truncated = expected_path(release, allstar[bad])
    for rel, p in files.items():
        match = hashlib.sha1(p.read_bytes()).hexdigest() == listed[rel]
        assert match == (rel != truncated), rel


def test_truncated_file_is_the_complete_files_start(mock):
    """The unreadable file is cut at 4000 bytes (inside HDU 1's header) and its folder's list
    carries another sha1 (the complete file's, checked by the test above): a checksum mismatch."""
    release, paths, allstar, truth = mock
    (bad,) = np.flatnonzero(_text(truth["spectrum_status"]) == "unreadable")
    rel = expected_path(release, allstar[bad])
    data = (paths["sas"] / rel).read_bytes()
    assert len(data) == 4000
    listing = (paths["sas"] / rel).parent / expected_sha1sum(release, allstar[bad])
    sha = dict(reversed(line.split(" ")) for line in listing.read_text().splitlines())[Path(rel).name]
    assert hashlib.sha1(data).hexdigest() != sha


def test_lite_file_drops_location_id_and_file(mock):
    release, paths, allstar, _ = mock
    if release == "dr14":
        assert "allstar_lite" not in paths
        assert not list(paths["allstar"].parent.glob("allStarLite*"))
        return
    lite_name = {"dr16": "allStarLite-r12-l33.fits", "dr17": "allStarLite-dr17-synspec_rev1.fits"}[release]
    assert paths["allstar_lite"] == paths["allstar"].parent / lite_name
    lite = Table.read(paths["allstar_lite"], hdu=1)
    assert {"FILE", "LOCATION_ID"} <= set(allstar.colnames) and not {"FILE", "LOCATION_ID"} & set(lite.colnames)
    assert {"APOGEE_ID", "TELESCOPE", "FIELD", "TEFF", "LOGG", "M_H", "ALPHA_M", "FE_H"} <= set(lite.colnames)
    assert len(lite) == len(allstar)
    assert np.array_equal(_text(lite["APOGEE_ID"]), _text(allstar["APOGEE_ID"]))


def test_fast_writer_bytes_equal_astropys():
    """The aspcapStar bytes the mock assembles from serialized headers are byte for byte what
    astropy writes for the same HDUs (DR14 float32 and DR17 float64)."""
    allstar, _, _ = simulate_catalog(120, 2, release="dr17", apred="dr17")
    records = writers.AllStarRecords(allstar)
    rng = np.random.default_rng(0)
    for release in ("dr14", "dr17"):
        flux, err, model = rng.normal(size=(3, 8575))
        for row in (0, 57):
            fast = writers.aspcapstar_bytes("x", flux, err, model=model, records=records, row=row, release=release,
                                            version="v1")
            hdul = writers.aspcapstar_hdulist("x", flux, err, model=model, record=records.records[row:row + 1],
                                              release=release, version="v1")
            buf = __import__("io").BytesIO()
            hdul.writeto(buf)
            assert fast == buf.getvalue(), (release, row)



def _astropy_primary(release, record, version):
    header = writers.primary_header(release, record, version)
    hdu = fits.PrimaryHDU(header=header)
    buf = __import__("io").BytesIO()
    fits.HDUList([hdu, fits.ImageHDU(np.zeros(2, np.float32))]).writeto(buf)
    return buf.getvalue()    # the primary HDU (header only) and then an extension


@pytest.mark.parametrize("release", ["dr14", "dr17"])
def test_fast_primary_header_equals_astropys_for_every_row(release):
    """The primary headers the mock formats itself (DR14's star keys) are astropy's, byte for byte,
    for every row, including awkward values: a quote, empty text, an exponent, negative numbers."""
    allstar, _, _ = simulate_catalog(200, 5, release=release, apred=VERSIONS[release]["apred"])
    allstar["FIELD"][1], allstar["FIELD"][2] = "it's", ""
    # 2**-20 prints with an exponent in 20 characters; 3e20 as float32 needs astropy's truncation
    allstar["VHELIO_AVG"][3], allstar["VHELIO_AVG"][4], allstar["SNR"][5] = 2.0**-20, -9999.0, 3e20
    allstar["J"][6] = -0.125
    records = writers.AllStarRecords(allstar)
    for row in range(len(allstar)):
        fast = writers.primary_header_bytes(release, records, row, "v1")
        full = _astropy_primary(release, records.records[row], "v1")
        assert full.startswith(fast) and full[len(fast):len(fast) + 8] == b"XTENSION", (release, row)


def test_versions_and_releases_are_checked(tmp_path):
    with pytest.raises(ValueError, match="results"):
        write_mock_survey(tmp_path, "dr17", {**VERSIONS["dr17"], "results": "x"}, 100, 1)
    with pytest.raises(ValueError, match="dr15"):
        write_mock_survey(tmp_path, "dr15", VERSIONS["dr16"], 100, 1)
    with pytest.raises(ValueError, match="allStarLite"):
        write_mock_survey(tmp_path, "dr14", VERSIONS["dr14"], 100, 1, lite=True)
