"""The SAS layouts of DR14, DR16 and DR17 as data (archives/sas.py): every expected string is
copied by hand from shared/data/sas_layout.md (sec. 2, 3 and 4's sdss-access examples), never
produced by the functions under test."""

import pytest

from spectroparallax.archives import sas

SAS = "https://data.sdss.org/sas"
VERSIONS = {"dr14": {"apred": "r8", "aspcap": "l31c", "results": "l31c.2"},
            "dr16": {"apred": "r12", "aspcap": "l33"},
            "dr17": {"apred": "dr17", "aspcap": "synspec_rev1"}}


def url(release, row=None, lite=False):
    layout = sas.layout(release, VERSIONS, lite=lite)
    rel = sas.allstar_relpath(layout) if row is None else sas.aspcapstar_relpath(layout, row)
    return sas.url(SAS, rel)


def test_allstar_urls_are_the_fact_sheets():
    assert url("dr14") == f"{SAS}/dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits"
    assert url("dr16") == f"{SAS}/dr16/apogee/spectro/aspcap/r12/l33/allStar-r12-l33.fits"
    assert url("dr17") == f"{SAS}/dr17/apogee/spectro/aspcap/dr17/synspec_rev1/allStar-dr17-synspec_rev1.fits"
    assert url("dr16", lite=True) == f"{SAS}/dr16/apogee/spectro/aspcap/r12/l33/allStarLite-r12-l33.fits"
    assert url("dr17", lite=True) == (
        f"{SAS}/dr17/apogee/spectro/aspcap/dr17/synspec_rev1/allStarLite-dr17-synspec_rev1.fits")
    with pytest.raises(ValueError, match="dr14 has no allStarLite file"):
        sas.layout("dr14", VERSIONS, lite=True)


def test_aspcapstar_urls_are_the_fact_sheets():
    # sec. 4: sdss-access Path(release="DR17").url("aspcapStar", ..., field="K04_083+13", obj=...)
    assert url("dr17", {"APOGEE_ID": "2M19485057+5005279", "TELESCOPE": "apo25m", "FIELD": "K04_083+13"}) == (
        f"{SAS}/dr17/apogee/spectro/aspcap/dr17/synspec_rev1/apo25m/K04_083+13/"
        "aspcapStar-dr17-2M19485057+5005279.fits")
    assert url("dr16", {"APOGEE_ID": "2M17335483-2753043", "TELESCOPE": "lco25m", "FIELD": "000+02"}) == (
        f"{SAS}/dr16/apogee/spectro/aspcap/r12/l33/lco25m/000+02/aspcapStar-r12-2M17335483-2753043.fits")
    # DR14 apo25m: <LOCATION_ID>/aspcapStar-r8-l31c.2-<ID>.fits (FIELD is no path level)
    assert url("dr14", {"APOGEE_ID": "2M16333217+3942519", "TELESCOPE": "apo25m", "FIELD": "064+42_MGA",
                        "LOCATION_ID": 2231, "FILE": "apStar-r8-2M16333217+3942519.fits"}) == (
        f"{SAS}/dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/2231/aspcapStar-r8-l31c.2-2M16333217+3942519.fits")
    # DR14 apo1m (LOCATION_ID 1): <FIELD>/, the FILE column with apStar-r8- -> aspcapStar-r8-l31c.2-
    apo1m = {"APOGEE_ID": "2M08514388+1146240", "TELESCOPE": "apo1m", "FIELD": "M67", "LOCATION_ID": 1,
             "FILE": "apStar-r8-2M08514388+1146240.fits"}
    assert url("dr14", apo1m) == (
        f"{SAS}/dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/M67/aspcapStar-r8-l31c.2-2M08514388+1146240.fits")
    # where FILE is absent, the APOGEE_ID
    assert url("dr14", {k: v for k, v in apo1m.items() if k != "FILE"}).endswith(
        "/l31c.2/M67/aspcapStar-r8-l31c.2-2M08514388+1146240.fits")


def test_a_dr17_id_of_30_characters_is_kept_whole():
    long_id = "2M19485057+5005279ABCDEFGHIJKL"
    assert len(long_id) == 30
    assert url("dr17", {"APOGEE_ID": long_id, "TELESCOPE": "apo1m", "FIELD": "M67"}) == (
        f"{SAS}/dr17/apogee/spectro/aspcap/dr17/synspec_rev1/apo1m/M67/aspcapStar-dr17-{long_id}.fits")


def test_checksum_lists_are_the_fact_sheets():
    def rel(release, row):
        return str(sas.checksum_relpath(sas.layout(release, VERSIONS), row))

    assert rel("dr14", {"APOGEE_ID": "2M1", "TELESCOPE": "apo25m", "FIELD": "x", "LOCATION_ID": 4424}) == (
        "dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/4424/stars_l31c_l31c.2_4424.sha1sum")
    assert rel("dr16", {"APOGEE_ID": "2M1", "TELESCOPE": "apo25m", "FIELD": "K04_083+13"}) == (
        "dr16/apogee/spectro/aspcap/r12/l33/apo25m/K04_083+13/r12_l33_apo25m_K04_083+13.sha1sum")
    assert rel("dr17", {"APOGEE_ID": "2M1", "TELESCOPE": "lco25m", "FIELD": "000+02"}) == (
        "dr17/apogee/spectro/aspcap/dr17/synspec_rev1/lco25m/000+02/dr17_synspec_rev1_lco25m_000+02.sha1sum")
    assert rel("dr17", {"APOGEE_ID": "2M1", "TELESCOPE": "apo1m", "FIELD": "M67"}) == (
        "dr17/apogee/spectro/aspcap/dr17/synspec_rev1/apo1m/M67/dr17_synspec_apo1m_M67.sha1sum")


@pytest.mark.parametrize("row, match", [
    ({"APOGEE_ID": "2M1", "TELESCOPE": "lco25m", "FIELD": "000+02", "LOCATION_ID": 5}, "dr14 has no aspcapStar files"),
    ({"APOGEE_ID": "2M1", "TELESCOPE": "apo1m", "FIELD": "../x", "LOCATION_ID": 1}, "FIELD '../x' cannot be part"),
    ({"APOGEE_ID": "2M1", "TELESCOPE": "apo1m", "FIELD": "M67", "LOCATION_ID": 1, "FILE": "apStar-r8-../../x.fits"},
     "FILE 'apStar-r8-../../x.fits' cannot be part"),
    ({"APOGEE_ID": "2M1", "TELESCOPE": "apo25m", "FIELD": "M67"}, "has no LOCATION_ID"),
    ({"APOGEE_ID": "2M1", "TELESCOPE": "a/b", "FIELD": "M67", "LOCATION_ID": 1}, "TELESCOPE 'a/b' cannot be part"),
])
def test_a_dr14_row_without_a_path_is_refused_with_its_reason(row, match):
    with pytest.raises(sas.NoSASPath, match=match):
        sas.aspcapstar_relpath(sas.layout("dr14", VERSIONS), row)


def test_a_release_reads_only_its_own_versions():
    assert sas.layout("dr16", {"dr16": VERSIONS["dr16"]}) == {
        "release": "dr16", "apred": "r12", "aspcap": "l33", "results": None, "lite": False}
    with pytest.raises(ValueError, match="apogee.versions.dr14 needs apred, aspcap, results; missing results"):
        sas.layout("dr14", {"dr14": {"apred": "r8", "aspcap": "l31c"}})
