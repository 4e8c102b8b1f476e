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
    adql = gaia_query.build_adql("chunk7", **custom)
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
    with pytest.raises(ValueError, match="gaia.allwise_table"):
        gaia_query.build_adql("chunk7", **dict(TABLES, allwise_table="allwise; DROP"))


def test_query_chunk_uploads_ids_and_writes_result_with_adql(tmp_path):
    cat = catalogue()
    chunk = [cat["tmass_designation"][i] for i in (5, 1, 3)] + ["99999999+9999999"]  # last: no Gaia match
    dest = tmp_path / "gaia_000.fits"
    with TAPServer(Join(cat)) as tap:
        table = gaia_query.query_chunk(chunk, dest, tap_url=tap.url, **TABLES, **FAST)
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
        queried = gaia_query.query_chunk(chunk, tmp_path / "q.fits", tap_url=tap.url, **TABLES, **FAST)
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
            gaia_query.query_chunk(["00000001+0000001"], tmp_path / "g.fits", tap_url=tap.url, **TABLES, **FAST)
        assert len(tap.submissions) == 1  # a failed query is not retried
    assert "gaiadr2.nosuch" in str(info.value) and "gaia." in str(info.value)
    assert_clean_failure(info.value, tap.url, tmp_path)


def test_rejected_query_raises(tmp_path):
    with TAPServer(Join(catalogue()), mode="reject") as tap:
        with pytest.raises(ArchiveError) as info:
            gaia_query.query_chunk(["00000001+0000001"], tmp_path / "g.fits", tap_url=tap.url, **TABLES, **FAST)
    assert "HTTP 400" in str(info.value)
    assert_clean_failure(info.value, tap.url, tmp_path)


def test_server_errors_are_retried(tmp_path):
    cat = catalogue()
    with TAPServer(Join(cat), fail_first=1) as tap:
        table = gaia_query.query_chunk([cat["tmass_designation"][0]], tmp_path / "g.fits", tap_url=tap.url,
                                       retries=2, **TABLES, **FAST)
        assert len(tap.submissions) == 2
    assert len(table) == 1
    with TAPServer(Join(cat), fail_first=10) as tap:
        with pytest.raises(ArchiveError) as info:
            gaia_query.query_chunk(["00000001+0000001"], tmp_path / "h.fits", tap_url=tap.url, retries=2,
                                   **TABLES, **FAST)
        assert len(tap.submissions) == 3
    assert "3 attempts" in str(info.value) and not isinstance(info.value, ArchiveUnreachable)
    assert not (tmp_path / "h.fits").exists() and not (tmp_path / "h.adql").exists()


def test_unreachable_archive_raises_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tap-server/tap"  # nothing listens: connection refused
    with pytest.raises(ArchiveUnreachable) as info:
        gaia_query.query_chunk(["00000001+0000001"], tmp_path / "g.fits", tap_url=url, retries=1, **TABLES, **FAST)
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
    adql = gaia_query.build_adql("chunk0", **TABLES)
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
