"""The Gaia cross-match query: ADQL, chunking, and astroquery against a loopback TAP service."""

import re
import socket
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from localservers import TAPServer

from spectroparallax.archives import gaia_query
from spectroparallax.archives.columns import GAIA_COLUMNS
from spectroparallax.io.errors import ArchiveError, ArchiveUnreachable

TABLES = {
    "source_table": "gaiadr2.gaia_source",
    "tmass_best_neighbour": "gaiadr2.tmass_best_neighbour",
    "allwise_best_neighbour": "gaiadr2.allwise_best_neighbour",
    "allwise_table": "gaiadr1.allwise_original_valid",
}
FAST = {"backoff": 0.0, "timeout": 10.0}


def catalogue(n=6, seed=3):
    """A Gaia x 2MASS x AllWISE stand-in; the last star has no AllWISE match (masked)."""
    rng = np.random.default_rng(seed)
    cat = Table()
    for name, (dtype, unit, _) in GAIA_COLUMNS.items():
        kind = np.dtype(dtype).kind
        if kind == "U":
            cat[name] = [f"{name[:3]}{i:05d}" for i in range(n)]
        elif kind == "f":
            cat[name] = rng.normal(size=n).astype(dtype)
        else:
            cat[name] = rng.integers(1, 100, n).astype(dtype)
    cat["tmass_designation"] = [f"{i:08d}+{i:07d}" for i in range(n)]
    cat["source_id"] = 10**18 + np.arange(n)
    cat = Table(cat, masked=True)
    for name in ("allwise_designation", "w1mpro", "w1mpro_error", "w2mpro", "w2mpro_error"):
        cat[name].mask[-1] = True
    return cat


class Join:
    """Server side: answer with the catalogue rows of the uploaded designations (the join's effect)."""

    def __init__(self, cat):
        self.cat = cat

    def __call__(self, query, uploads):
        ids = np.asarray(uploads["apogee"]["tmass_id"]).astype(str)
        return self.cat[np.isin(self.cat["tmass_designation"], ids)][::-1]  # archive order is arbitrary


def test_chunk_ids_is_deterministic_and_complete():
    ids = [f"{i:08d}+0000000" for i in range(23)]
    rng = np.random.default_rng(0)
    shuffled = list(rng.permutation(ids)) + ids[:3]  # order and duplicates do not matter
    chunks = gaia_query.chunk_ids(shuffled, 10)
    assert [c.size for c in chunks] == [10, 10, 3]
    assert [list(c) for c in chunks] == [ids[:10], ids[10:20], ids[20:]]
    with pytest.raises(ValueError):
        gaia_query.chunk_ids(ids, 0)


def test_tmass_designations_strip_the_2m_prefix():
    designations, others = gaia_query.tmass_designations(
        ["2M00000002+0000002", " 2M00000001+0000001", "2M00000002+0000002", "AP12345678+1234567"])
    assert list(designations) == ["00000001+0000001", "00000002+0000002"]
    assert list(others) == ["AP12345678+1234567"]


def test_build_adql_joins_the_configured_tables():
    custom = dict(TABLES, source_table="gaiadr3.gaia_source")
    adql = gaia_query.build_adql("chunk7", custom)
    assert "FROM TAP_UPLOAD.chunk7 AS up" in adql
    assert "JOIN gaiadr2.tmass_best_neighbour AS tm ON tm.original_ext_source_id = up.tmass_id" in adql
    assert "JOIN gaiadr3.gaia_source AS gs ON gs.source_id = tm.source_id" in adql
    assert "LEFT OUTER JOIN gaiadr2.allwise_best_neighbour AS awx ON awx.source_id = gs.source_id" in adql
    assert "LEFT OUTER JOIN gaiadr1.allwise_original_valid AS aw ON aw.allwise_oid = awx.allwise_oid" in adql
    select = adql.split("FROM")[0].removeprefix("SELECT").split(",")
    names = [re.split(r"\s+AS\s+|\.", s.strip())[-1] for s in select]
    assert names == list(GAIA_COLUMNS)
    assert "tm.original_ext_source_id AS tmass_designation" in adql
    assert "aw.designation AS allwise_designation" in adql
    with pytest.raises(ValueError, match="gaia.tables.dr2.allwise_table"):
        gaia_query.build_adql("chunk7", dict(TABLES, allwise_table="allwise; DROP"))


def test_query_chunk_uploads_ids_and_writes_result_with_adql(tmp_path):
    cat = catalogue()
    chunk = [cat["tmass_designation"][i] for i in (5, 1, 3)] + ["99999999+9999999"]  # last: no Gaia match
    dest = tmp_path / "gaia_000.fits"
    with TAPServer(Join(cat)) as tap:
        table = gaia_query.query_chunk(chunk, dest, tap_url=tap.url, tables=TABLES, **FAST)
        methods = [(r["method"], r["path"].removeprefix("/tap-server/tap")) for r in tap.requests]
    # astroquery really submitted an async job with the upload, polled it and fetched the result.
    assert methods[0] == ("POST", "/async")
    assert any(p.endswith("/phase") for _, p in methods) and methods[-1][1].endswith("/results/result")
    (sub,) = tap.submissions
    assert sorted(sub["uploads"]["apogee"]["tmass_id"].astype(str)) == sorted(chunk)
    assert sub["fields"]["UPLOAD"] == "apogee,param:apogee" and sub["fields"]["LANG"] == "ADQL"
    assert sub["fields"]["QUERY"] == gaia_query.adql_path(dest).read_text()  # the exact text sent
    # Exactly GAIA_COLUMNS, rows sorted by designation, values as in the catalogue.
    assert table.colnames == list(GAIA_COLUMNS)
    assert list(table["tmass_designation"]) == sorted(chunk[:3])
    rows = [list(cat["tmass_designation"]).index(d) for d in table["tmass_designation"]]
    np.testing.assert_allclose(table["parallax"], cat["parallax"][rows])
    np.testing.assert_array_equal(table["source_id"], cat["source_id"][rows])
    assert table["parallax"].unit == "mas"
    back = Table.read(dest)
    assert back.colnames == list(GAIA_COLUMNS)
    np.testing.assert_allclose(back["pmra"], cat["pmra"][rows])
    no_wise = list(back["tmass_designation"]).index(cat["tmass_designation"][5])
    w1 = np.ma.filled(back["w1mpro"], np.nan)  # astropy reads NaN back as masked
    assert np.isnan(w1[no_wise]) and np.isnan(table["w1mpro"][no_wise])
    assert table["allwise_designation"][no_wise] == "" and np.ma.filled(back["allwise_designation"], "")[no_wise] == ""
    assert np.isfinite(w1[[i for i in range(3) if i != no_wise]]).all()


def test_select_chunk_gives_the_same_table_as_the_query(tmp_path):
    cat = catalogue()
    chunk = list(cat["tmass_designation"][[4, 0]])
    with TAPServer(Join(cat)) as tap:
        queried = gaia_query.query_chunk(chunk, tmp_path / "q.fits", tap_url=tap.url, tables=TABLES, **FAST)
    mock = gaia_query.select_chunk(cat, chunk)
    assert mock.colnames == queried.colnames
    for name in mock.colnames:
        assert mock[name].dtype == queried[name].dtype
        np.testing.assert_array_equal(np.asarray(mock[name]), np.asarray(queried[name]))


def assert_clean_failure(exc, url, tmp_path):
    msg = str(exc)
    assert "\n" not in msg and msg.startswith("Gaia Archive: ") and url in msg
    assert list(tmp_path.iterdir()) == []


def test_job_in_error_phase_raises_one_line_and_writes_nothing(tmp_path):
    with TAPServer(Join(catalogue()), mode="error", error_message="Table 'gaiadr2.nosuch' not found") as tap:
        with pytest.raises(ArchiveError) as info:
            gaia_query.query_chunk(["00000001+0000001"], tmp_path / "g.fits", tap_url=tap.url, tables=TABLES, **FAST)
        assert len(tap.submissions) == 1  # a failed query is not retried
    assert "gaiadr2.nosuch" in str(info.value) and "gaia." in str(info.value)
    assert_clean_failure(info.value, tap.url, tmp_path)


def test_rejected_query_raises(tmp_path):
    with TAPServer(Join(catalogue()), mode="reject") as tap:
        with pytest.raises(ArchiveError) as info:
            gaia_query.query_chunk(["00000001+0000001"], tmp_path / "g.fits", tap_url=tap.url, tables=TABLES, **FAST)
    assert "HTTP 400" in str(info.value)
    assert_clean_failure(info.value, tap.url, tmp_path)


def test_server_errors_are_retried(tmp_path):
    cat = catalogue()
    with TAPServer(Join(cat), fail_first=1) as tap:
        table = gaia_query.query_chunk([cat["tmass_designation"][0]], tmp_path / "g.fits", tap_url=tap.url,
                                       retries=2, tables=TABLES, **FAST)
        assert len(tap.submissions) == 2
    assert len(table) == 1
    with TAPServer(Join(cat), fail_first=10) as tap:
        with pytest.raises(ArchiveError) as info:
            gaia_query.query_chunk(["00000001+0000001"], tmp_path / "h.fits", tap_url=tap.url, retries=2,
                                   tables=TABLES, **FAST)
        assert len(tap.submissions) == 3
    assert "3 attempts" in str(info.value) and not isinstance(info.value, ArchiveUnreachable)
    assert not (tmp_path / "h.fits").exists() and not (tmp_path / "h.adql").exists()


def test_unreachable_archive_raises_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tap-server/tap"  # nothing listens: connection refused
    with pytest.raises(ArchiveUnreachable) as info:
        gaia_query.query_chunk(["00000001+0000001"], tmp_path / "g.fits", tap_url=url, retries=1, tables=TABLES, **FAST)
    assert "unreachable" in str(info.value) and "survey=mock" in str(info.value)
    assert_clean_failure(info.value, url, tmp_path)


def test_result_missing_a_column_is_an_archive_error():
    cat = catalogue()
    cat.remove_column("bp_rp")
    with pytest.raises(ArchiveError, match="bp_rp"):
        gaia_query.conform(cat, "https://example.invalid/tap")


# Real Gaia Archive answers (SELECT * FROM gaiadr3.gaia_source WHERE source_id = ...), recorded by
# astroquery and shipped with its tests (BSD 3-clause, astroquery/gaia/tests/data/).
REAL_RESULTS = Path(__file__).parent / "data" / "gaia_real"


@pytest.mark.parametrize("name", ["1712337806100O-result.ecsv", "1710099405832VAL-result.vot"])
def test_random_index_is_queried_and_read_exactly_as_the_archive_returns_it(name):
    """HER19 split its folds by gaia_source.random_index (long, in DR2 and DR3). The query selects it
    from gaia_source and the reader keeps a real archive answer's values exactly (they exceed 2**24,
    so a float column would round them)."""
    adql = gaia_query.build_adql("chunk0", TABLES)
    assert "gs.random_index" in adql.split("FROM")[0]
    real = Table.read(REAL_RESULTS / name, **({"use_names_over_ids": True} if name.endswith(".vot") else {}))
    assert real["random_index"].dtype == np.int64
    result = Table(real, masked=True)
    for col, (dtype, _, _) in GAIA_COLUMNS.items():   # the cross-match columns gaia_source lacks
        if col not in result.colnames:
            result[col] = [f"{i:08d}+0000000" for i in range(len(result))] if col == "tmass_designation" else \
                np.zeros(len(result), dtype=dtype)
    table = gaia_query.conform(result, name)
    assert table["random_index"].dtype == np.int64
    order = [list(real["source_id"]).index(s) for s in table["source_id"]]
    assert np.asarray(table["random_index"]).tolist() == np.asarray(real["random_index"])[order].tolist()
    assert (np.asarray(real["random_index"]) > 2**24).all()


def test_a_mock_from_before_random_index_says_to_regenerate_it():
    """A mock Gaia table written before random_index was queried is not an archive fault: the
    one line names the column and says to regenerate the mock (not to check gaia.* table names)."""
    old = catalogue()
    old.remove_column("random_index")
    with pytest.raises(ArchiveError, match=r"^Gaia Archive: table lacks column\(s\) random_index \(old_mock.vot\); regenerate the mock survey"):
        gaia_query.select_chunk(old, list(old["tmass_designation"][:2]), origin="old_mock.vot")


# ---------------------------------------------------------------------------------------------
# Gaia DR3 (gaia_archive.md sec. 3-5): the join through tmass_psc_xsc_join, the uploaded key, the
# zero-point inputs, and results as the archive sends them (gzip-compressed BINARY2 VOTables).
from spectroparallax.archives.columns import GAIA_DR3_COLUMNS, gaia_columns  # noqa: E402

TABLES_DR3 = {
    "source_table": "gaiadr3.gaia_source",
    "tmass_join": "gaiadr3.tmass_psc_xsc_join",
    "tmass_best_neighbour": "gaiadr3.tmass_psc_xsc_best_neighbour",
    "allwise_best_neighbour": "gaiadr3.allwise_best_neighbour",
    "allwise_table": "gaiadr1.allwise_original_valid",
}


def test_dr3_adql_joins_through_tmass_psc_xsc_join_keyed_on_the_uploaded_designation():
    adql = gaia_query.build_adql("apogee", TABLES_DR3, "dr3")
    assert ("JOIN gaiadr3.tmass_psc_xsc_join AS xj ON xj.original_psc_source_id = up.tmass_id\n"
            "JOIN gaiadr3.tmass_psc_xsc_best_neighbour AS tm ON tm.clean_tmass_psc_xsc_oid = xj.clean_tmass_psc_xsc_oid\n"
            "JOIN gaiadr3.gaia_source AS gs ON gs.source_id = tm.source_id\n") in adql
    assert "tm.original_ext_source_id = up." not in adql          # G1: never the listed designation
    select = adql.split("FROM")[0]
    assert "up.tmass_id AS tmass_designation" in select           # G2: the uploaded key
    assert "tm.original_ext_source_id AS tmass_listed_designation" in select
    for name in ("nu_eff_used_in_astrometry", "pseudocolour", "ecl_lat", "astrometric_params_solved", "ruwe",
                 "phot_g_mean_mag", "parallax"):                  # G3: the L21 inputs
        assert f"gs.{name}" in select
    names = [re.split(r"\s+AS\s+|\.", s.strip())[-1] for s in select.removeprefix("SELECT").split(",")]
    assert [n for n in names if n in gaia_columns("dr3")] == list(gaia_columns("dr3"))
    # DR2 keeps its query exactly (the paper's route), without the DR3-only columns.
    dr2 = gaia_query.build_adql("apogee", TABLES)
    assert "tm.original_ext_source_id = up.tmass_id" in dr2 and "tmass_psc_xsc_join" not in dr2
    assert not any(name in dr2 for name in GAIA_DR3_COLUMNS)
    with pytest.raises(ValueError, match="gaia.tables.dr3.tmass_join"):
        gaia_query.build_adql("apogee", dict(TABLES_DR3, tmass_join=None), "dr3")


class ArchiveDR3:
    """Server side of gaia_archive.md sec. 3: a 2MASS group with two designations (suspected
    duplicates) shares one clean_tmass_psc_xsc_oid, and the best-neighbour table lists only one of
    them. Executes the join the ADQL asks for: through tmass_psc_xsc_join, or on the listed name."""

    def __init__(self, cat, listed):
        self.cat = cat                                   # one row per source, keyed by the *listed* name
        self.listed = listed                             # uploaded designation -> listed designation

    def __call__(self, query, uploads):
        up = np.asarray(uploads["apogee"]["tmass_id"]).astype(str)
        via_join = "xj.original_psc_source_id = up.tmass_id" in query
        rows, keys = [], []
        for designation in up:
            listed = self.listed.get(designation, designation) if via_join else designation
            hit = np.flatnonzero(self.cat["tmass_designation"] == listed)
            rows += list(hit)
            keys += [designation if "up.tmass_id AS tmass_designation" in query else listed] * hit.size
        out = self.cat[rows]
        out["tmass_listed_designation"] = out["tmass_designation"]
        out["tmass_designation"] = keys
        return out


def dr3_catalogue(n=5):
    cat = catalogue(n)
    for name, (dtype, _, _) in GAIA_DR3_COLUMNS.items():
        cat[name] = np.zeros(n, dtype=dtype)
    cat["phot_g_mean_mag"] = np.linspace(12.0, 16.0, n).astype("f4")
    cat["nu_eff_used_in_astrometry"] = np.float32(1.45)
    cat["pseudocolour"].mask = True
    cat["ecl_lat"] = np.linspace(-60, 60, n)
    cat["astrometric_params_solved"] = 31
    cat["parallax"] = np.linspace(0.2, 1.0, n)
    return cat


def test_a_dr3_designation_that_is_a_non_listed_duplicate_is_kept(tmp_path):
    cat = dr3_catalogue()
    hidden = "00000002+0000009"                  # same 2MASS group as the listed 00000002+0000002
    server = ArchiveDR3(cat, {hidden: str(cat["tmass_designation"][2])})
    chunk = [hidden, str(cat["tmass_designation"][0])]
    with TAPServer(server) as tap:
        table = gaia_query.query_chunk(chunk, tmp_path / "c.fits", tap_url=tap.url, tables=TABLES_DR3,
                                       release="dr3", **FAST)
    assert sorted(table["tmass_designation"]) == sorted(chunk)   # found, and keyed by the uploaded name
    assert table["source_id"][list(table["tmass_designation"]).index(hidden)] == cat["source_id"][2]
    assert table.meta["GAIAREL"] == "dr3" and "parallax_zero_point" in table.colnames
    # The DR2 route on the same archive loses it: what G1 describes.
    with TAPServer(server) as tap:
        dr2_tables = dict(TABLES_DR3)
        dr2_tables.pop("tmass_join")
        old = gaia_query.query_chunk(chunk, tmp_path / "o.fits", tap_url=tap.url, tables=dr2_tables, **FAST)
    assert hidden not in list(old["tmass_designation"])


@pytest.mark.parametrize("name", ["1712337806100O-result.ecsv", "1710099405832VAL-result.vot"])
def test_a_real_dr3_result_served_as_gzip_binary2_is_read_and_corrected(tmp_path, name):
    """A real archive answer (gaiadr3.gaia_source rows), served as the archive serves 'votable' results:
    astroquery reads the gzip BINARY2 VOTable, the reader keeps the values exactly, and the chunk gets
    the L21 zero point of exactly these rows."""
    from zero_point import zpt

    real = Table.read(REAL_RESULTS / name, **({"use_names_over_ids": True} if name.endswith(".vot") else {}))
    if np.ma.getmaskarray(real["astrometric_params_solved"]).all():   # the ECSV answer lacks it: nu_eff is
        five = np.isfinite(np.ma.filled(np.ma.asarray(real["nu_eff_used_in_astrometry"], float), np.nan))
        real["astrometric_params_solved"] = np.ma.masked_array(np.where(five, 31, 3), mask=~five)  # set for 5p only
    result = Table(real, masked=True)
    result["tmass_designation"] = [f"{i:08d}+0000000" for i in range(len(result))]
    for col, (dtype, _, _) in GAIA_COLUMNS.items():   # the cross-match columns gaia_source lacks
        if col not in result.colnames:
            result[col] = np.zeros(len(result), dtype=dtype)
    ids = list(result["tmass_designation"])
    with TAPServer(lambda q, up: result, result_format="binary2_gzip") as tap:
        table = gaia_query.query_chunk(ids, tmp_path / "c.fits", tap_url=tap.url, tables=TABLES_DR3,
                                       release="dr3", **FAST)
    order = [list(real["source_id"]).index(s) for s in table["source_id"]]
    for col in ("parallax", "nu_eff_used_in_astrometry", "ecl_lat", "random_index"):
        np.testing.assert_array_equal(np.ma.filled(table[col], np.nan),
                                      np.ma.filled(np.asarray(real[col])[order].astype(table[col].dtype), np.nan))
    zpt.load_tables()
    solved = np.ma.filled(real["astrometric_params_solved"], 0)[order]
    ok = np.isin(solved, (31, 95))
    expected = np.full(len(table), np.nan)
    f = lambda c: np.ma.filled(np.ma.asarray(real[c], float), np.nan)[order][ok]  # noqa: E731
    expected[ok] = zpt.get_zpt(f("phot_g_mean_mag"), f("nu_eff_used_in_astrometry"), f("pseudocolour"),
                               f("ecl_lat"), solved[ok].astype(float), _warnings=False)
    assert np.isfinite(expected).any()
    np.testing.assert_allclose(table["parallax_zero_point"], expected, equal_nan=True)
    back = gaia_query.read_chunks([tmp_path / "c.fits"])
    np.testing.assert_allclose(back["parallax_zero_point"], expected, equal_nan=True)


@pytest.mark.parametrize("name", ["1712337806100O-result.ecsv", "1710099405832VAL-result.vot"])
def test_the_real_results_gzipped_read_back_unchanged(tmp_path, name):
    """Table.read (the mock path of rule gaia_chunk) reads a gzipped archive result as the plain one."""
    import gzip
    import shutil

    gz = tmp_path / (name + ".gz")
    with open(REAL_RESULTS / name, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    kw = {"use_names_over_ids": True} if name.endswith(".vot") else {"format": "ascii.ecsv"}
    plain, zipped = Table.read(REAL_RESULTS / name, **kw), Table.read(gz, **kw)
    assert zipped.colnames == plain.colnames and len(zipped) == len(plain) > 0
    for col in ("source_id", "parallax", "nu_eff_used_in_astrometry", "pseudocolour"):
        np.testing.assert_array_equal(np.ma.filled(zipped[col], -1), np.ma.filled(plain[col], -1))
