"""SAS downloads against a loopback file server with injected faults, and the local-mirror mode."""

import socket
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from localservers import SASServer

from spectroparallax.archives import download, sas
from spectroparallax.io.errors import ArchiveError, ArchiveUnreachable

VERSIONS = {"dr14": {"apred": "r8", "aspcap": "l31c", "results": "l31c.2"}, "dr16": {"apred": "r12", "aspcap": "l33"},
            "dr17": {"apred": "dr17", "aspcap": "synspec_rev1"}}
DR14 = sas.layout("dr14", VERSIONS)


def row(apogee_id, loc, telescope="apo25m", field=None):
    """One allStar row's path keys (DR14 apo25m: LOCATION_ID is the folder)."""
    return {"APOGEE_ID": apogee_id, "TELESCOPE": telescope, "FIELD": field or f"F{loc}", "LOCATION_ID": loc}


def rows(ids, locs):
    return [row(a, loc) for a, loc in zip(ids, locs, strict=True)]
N_PIX = 8575
FAST = {"backoff": 0.0, "timeout": 10.0, "progress": False, "chunk_size": 4096}


def write_aspcapstar(path, seed):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([
        fits.PrimaryHDU(),
        fits.ImageHDU(rng.normal(1.0, 0.05, N_PIX).astype("f4")),
        fits.ImageHDU(rng.uniform(0.005, 0.02, N_PIX).astype("f4")),
        fits.ImageHDU(np.ones(N_PIX, "f4")),
    ]).writeto(path)


@pytest.fixture
def tree(tmp_path):
    """A small SAS tree: 4 stars in 2 fields; returns (root, ids, locations)."""
    root = tmp_path / "sas"
    ids = [f"2M0000000{i}+0000000{i}" for i in range(4)]
    locs = [4424, 4424, 5000, 5000]
    for i, (a, loc) in enumerate(zip(ids, locs)):
        write_aspcapstar(root / sas.aspcapstar_relpath(DR14, row(a, loc)), seed=i)
    return root, ids, locs


def jobs_for(server, tmp_path, ids, locs):
    return download.aspcapstar_jobs(DR14, rows(ids, locs), server.url, tmp_path / "out")


def urlpath(job):
    return "/" + job[1].split("/", 3)[3]


def assert_identical(tree_root, job):
    assert job[2].read_bytes() == (tree_root / urlpath(job).lstrip("/")).read_bytes()
    assert not download._part_path(job[2]).exists()


def test_shard_downloads_and_manifest(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids, locs)
        manifest = download.download_files(jobs, tmp_path / "manifest.ecsv", threads=2, **FAST)
    for job in jobs:
        assert_identical(root, job)
    written = Table.read(tmp_path / "manifest.ecsv")
    assert list(written.colnames) == list(download.MANIFEST_COLUMNS)
    assert list(written["APOGEE_ID"]) == ids
    assert list(written["status"]) == ["downloaded"] * 4
    assert list(written["bytes"]) == [job[2].stat().st_size for job in jobs]
    assert list(manifest["path"]) == [str(job[2]) for job in jobs]


def test_resume_after_connection_dropped_mid_file(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids[:1], locs[:1])
        srv.faults[urlpath(jobs[0])] = ["drop"]
        download.download_files(jobs, threads=1, **FAST)
        gets = srv.gets(urlpath(jobs[0]))
    assert_identical(root, jobs[0])
    size = jobs[0][2].stat().st_size
    assert [g["fault"] for g in gets] == ["drop", None]
    assert gets[0]["range"] is None
    start = int(gets[1]["range"].removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= size // 2  # resumed from what had arrived, not from 0


def test_server_error_then_success(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids[:1], locs[:1])
        srv.faults[urlpath(jobs[0])] = ["500", "503"]
        manifest = download.download_files(jobs, threads=1, **FAST)
        assert len(srv.gets(urlpath(jobs[0]))) == 3
    assert manifest["status"][0] == "downloaded"
    assert_identical(root, jobs[0])


def test_404_is_recorded_not_raised(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, [ids[0], "2M99999999+9999999"], [locs[0], 4424])
        manifest = download.download_files(jobs, tmp_path / "m.ecsv", threads=2, **FAST)
        assert len(srv.gets(urlpath(jobs[1]))) == 1  # a 404 is not retried
    row = Table.read(tmp_path / "m.ecsv")[1]
    assert (row["APOGEE_ID"], row["status"], row["bytes"]) == ("2M99999999+9999999", "missing", 0)
    assert "404" in row["reason"]
    assert manifest["status"][0] == "downloaded"
    assert not jobs[1][2].exists() and not download._part_path(jobs[1][2]).exists()


def test_corrupt_download_is_removed_and_fetched_again(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids[:1], locs[:1])
        srv.faults[urlpath(jobs[0])] = ["corrupt"]
        download.download_files(jobs, threads=1, **FAST)
        gets = srv.gets(urlpath(jobs[0]))
    assert [g["fault"] for g in gets] == ["corrupt", None]
    assert gets[1]["range"] is None  # the bad bytes were thrown away, not resumed
    assert_identical(root, jobs[0])


def test_truncated_body_and_ignored_range_are_recovered(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids[:2], locs[:2])
        srv.faults[urlpath(jobs[0])] = ["short"]  # Content-Length says less than the file
        srv.faults[urlpath(jobs[1])] = ["drop", "ignore_range"]  # resume answered with the whole file
        download.download_files(jobs, threads=2, **FAST)
        assert len(srv.gets(urlpath(jobs[0]))) == 2
        assert srv.gets(urlpath(jobs[1]))[1]["range"] is not None
    for job in jobs:
        assert_identical(root, job)


def test_rerun_fetches_nothing_and_replaces_invalid_files(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids, locs)
        download.download_files(jobs, **FAST)
        n = len(srv.requests)
        manifest = download.download_files(jobs, **FAST)
        assert len(srv.requests) == n
        assert list(manifest["status"]) == ["present"] * 4
        # A truncated file on disk is not "present": it is fetched again.
        data = jobs[2][2].read_bytes()
        jobs[2][2].write_bytes(data[: len(data) // 3])
        manifest = download.download_files(jobs, **FAST)
        assert [r["path"] for r in srv.requests[n:]] == [urlpath(jobs[2])]
    assert list(manifest["status"]) == ["present", "present", "downloaded", "present"]
    assert_identical(root, jobs[2])


def test_check_aspcapstar_rejects_wrong_shapes(tmp_path):
    good = tmp_path / "good.fits"
    write_aspcapstar(good, 0)
    assert download.check_aspcapstar(good) is None
    assert "shape" in download.check_aspcapstar(good, n_pixels=100)
    short = tmp_path / "short.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones(10, "f4"))]).writeto(short)
    assert "HDUs" in download.check_aspcapstar(short)
    (tmp_path / "text.fits").write_text("not fits")
    assert "FITS" in download.check_aspcapstar(tmp_path / "text.fits")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_raises_one_line_and_leaves_nothing(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    jobs = download.aspcapstar_jobs(DR14, rows(["2M00000000+0000000", "2M00000001+0000001"], [1, 1]), url,
                                    tmp_path / "out")
    with pytest.raises(ArchiveUnreachable) as info:
        download.download_files(jobs, tmp_path / "m.ecsv", retries=1, threads=1, **FAST)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("SDSS SAS: host unreachable")
    assert url in msg and "apogee.sas_root" in msg and "survey=mock" in msg
    assert list(tmp_path.iterdir()) == []


def test_persistent_server_errors_raise_after_retries(tree, tmp_path):
    root, ids, locs = tree
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids[:2], locs[:2])
        srv.faults[urlpath(jobs[1])] = ["500"] * 3
        with pytest.raises(ArchiveError) as info:
            download.download_files(jobs, tmp_path / "m.ecsv", retries=2, **FAST)
        assert len(srv.gets(urlpath(jobs[1]))) == 3
        assert not isinstance(info.value, ArchiveUnreachable)
        assert "\n" not in str(info.value) and ids[1] in str(info.value) and "HTTP 500" in str(info.value)
        assert not (tmp_path / "m.ecsv").exists()
        srv.faults[urlpath(jobs[1])] = ["500"] * 3
        manifest = download.download_files(jobs, retries=2, allow_failures=True, **FAST)
    assert list(manifest["status"]) == ["present", "failed"]


def test_download_file_retries_a_large_file(tree, tmp_path):
    root, ids, locs = tree
    rel = sas.aspcapstar_relpath(DR14, row(ids[0], locs[0]))
    with SASServer(root) as srv:
        srv.faults["/" + str(rel)] = ["drop", "drop"]
        dest = download.download_file(sas.url(srv.url, rel), tmp_path / "big.fits", backoff=0.0, chunk_size=4096,
                                      progress=False)
        assert len(srv.gets("/" + str(rel))) == 3
    assert dest.read_bytes() == (root / rel).read_bytes()


def test_resolve_local_reads_in_place_and_records_missing(tree, tmp_path):
    root, ids, locs = tree
    bad = root / sas.aspcapstar_relpath(DR14, row(ids[3], locs[3]))
    bad.write_bytes(bad.read_bytes()[:5000])
    rel = download.aspcapstar_relpaths(DR14, rows(ids + ["2M99999999+9999999"], locs + [4424]))
    manifest = download.resolve_local(rel, root, tmp_path / "m.ecsv")
    assert list(Table.read(tmp_path / "m.ecsv")["status"]) == ["present"] * 3 + ["corrupt", "missing"]
    assert manifest["path"][0] == str(root / rel[0][1])  # in place: no copy
    assert not (tmp_path / "out").exists()
    with pytest.raises(ArchiveError, match="sas_root"):
        download.resolve_local(rel, tmp_path / "nowhere")


ESCAPE = "x/../../../../outside"   # an allStar APOGEE_ID crafted to leave the SAS tree


@pytest.mark.parametrize("value", ["2M16333217+3942519", "064+42_MGA", "apo25m", "4102", " 2M00000001+00000001 "])
def test_archive_names_are_safe_path_components(value):
    assert sas.safe_component(value, "APOGEE_ID") == value.strip()


@pytest.mark.parametrize("value", [ESCAPE, "..", ".", "a/b", "a\\b", "", "2M0..1", "2M00000001 00000001", "é"])
def test_a_string_that_could_steer_a_path_is_refused(value):
    with pytest.raises(sas.UnsafePathComponent, match="cannot be part of a SAS path"):
        sas.aspcapstar_relpath(DR14, row(value, 4424))
    with pytest.raises(sas.UnsafePathComponent, match="LOCATION_ID"):
        sas.aspcapstar_relpath(DR14, row("2M00000001+00000001", value))


def _files_below(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_a_crafted_allstar_row_downloads_nothing_outside_the_tree(tree, tmp_path):
    """The row is recorded as refused, with its reason; the other rows download as usual, and
    nothing is written anywhere but below the download root (the old code wrote ../../outside)."""
    root, ids, locs = tree
    (root / "outside").write_bytes((root / sas.aspcapstar_relpath(DR14, row(ids[0], locs[0]))).read_bytes())
    work = tmp_path / "work" / "resources" / "sas"
    before = _files_below(tmp_path)
    with SASServer(root) as srv:
        jobs = download.aspcapstar_jobs(DR14, rows([ids[0], ESCAPE], [locs[0], locs[0]]), srv.url, work)
        manifest = download.download_files(jobs, threads=1, **FAST)
        assert all(ESCAPE not in r["path"] and "outside" not in r["path"] for r in srv.gets())
    assert list(manifest["status"]) == ["downloaded", "refused"]
    assert "cannot be part of a SAS path" in manifest["reason"][1] and manifest["path"][1] == ""
    new = set(_files_below(tmp_path)) - set(before)
    assert all(str(p).startswith("work/resources/sas/") for p in new), new


def test_a_crafted_row_is_not_read_from_outside_a_local_mirror(tree, tmp_path):
    root, ids, locs = tree
    # A valid file where the crafted ID's path would lead (two folders above the location folder).
    escaped = root / sas.results_dir(DR14) / str(locs[0]) / f"aspcapStar-r8-l31c.2-{ESCAPE}.fits"
    write_aspcapstar(escaped.resolve(), seed=9)
    manifest = download.resolve_local(download.aspcapstar_relpaths(DR14, rows([ids[0], ESCAPE], [locs[0]] * 2)), root)
    assert list(manifest["status"]) == ["present", "refused"] and manifest["path"][1] == ""


def _write_sha1sum(root, loc, entries):
    """The folder's sha1sum list as the SAS writes it: '<sha1>  <file name>' per line."""
    path = root / sas.checksum_relpath(DR14, row("2M00000000+0000000", loc))
    path.write_text("".join(f"{sha}  {name}\n" for name, sha in entries.items()))
    return path


def test_read_checksums_takes_both_sha1sum_forms(tmp_path):
    good = "0123456789abcdef0123456789abcdef01234567"
    (tmp_path / "s.sha1sum").write_text(f"{good}  a.fits\n{good.upper()} *b.fits\nnot a line\n")
    assert download.read_checksums(tmp_path / "s.sha1sum") == {"a.fits": good, "b.fits": good}


def test_downloads_are_checked_against_the_archives_sha1sum_list(tree, tmp_path):
    """Location 4424 publishes a list: star 0 matches it, star 1 does not (the archive's copy differs
    from its list) and is recorded corrupt after every retry, moved aside, counted, not raised.
    Location 5000 has no list (404): its files are checked for completeness only."""
    root, ids, locs = tree
    files = [root / sas.aspcapstar_relpath(DR14, row(a, loc)) for a, loc in zip(ids, locs)]
    _write_sha1sum(root, 4424, {files[0].name: download.sha1_of(files[0]), files[1].name: "f" * 40})
    with SASServer(root) as srv:
        jobs = jobs_for(srv, tmp_path, ids, locs)
        sums = download.aspcapstar_checksums(DR14, rows(ids, locs), srv.url, tmp_path / "out")
        manifest = download.download_files(jobs, retries=2, threads=1, checksums=sums, **FAST)
        assert len(srv.gets(urlpath(jobs[1]))) == 3        # the first try and two retries
    assert list(manifest["status"]) == ["downloaded", "corrupt", "downloaded", "downloaded"]
    assert "differs from the archive's sha1sum list" in manifest["reason"][1]
    assert not jobs[1][2].exists() and jobs[1][2].with_name(jobs[1][2].name + ".bad").exists()
    assert not list((tmp_path / "out").rglob("*.part*")) and not list((tmp_path / "out").rglob("*.corrupt"))
    assert_identical(root, jobs[0])


def test_a_local_mirror_is_checked_against_its_sha1sum_list(tree, tmp_path):
    root, ids, locs = tree
    files = [root / sas.aspcapstar_relpath(DR14, row(a, loc)) for a, loc in zip(ids, locs)]
    _write_sha1sum(root, 5000, {files[2].name: download.sha1_of(files[2]), files[3].name: "0" * 40})
    manifest = download.resolve_local(download.aspcapstar_relpaths(DR14, rows(ids, locs)), root,
                                      checksums=download.aspcapstar_checksums(DR14, rows(ids, locs)))
    assert list(manifest["status"]) == ["present", "present", "present", "corrupt"]
    assert "sha1" in manifest["reason"][3]


def test_a_dr17_mirror_finds_apo25m_apo1m_and_lco25m_stars(tmp_path):
    """A hand-built DR17 tree (sas_layout.md sec. 3: <TELESCOPE>/<FIELD>/aspcapStar-dr17-<ID>.fits, a
    30-character ID, an apo1m and an lco25m star, per-folder sha1sum lists with their DR17 names): the
    manifest finds every file, checks lco25m's list (synspec_rev1) and apo25m's (synspec), and
    only the star with no file is missing."""
    dr17 = sas.layout("dr17", VERSIONS)
    root = tmp_path / "sas"
    base = root / "dr17/apogee/spectro/aspcap/dr17/synspec_rev1"
    stars = [  # (APOGEE_ID, TELESCOPE, FIELD, file written by hand)
        ("2M19485057+5005279", "apo25m", "K04_083+13", "apo25m/K04_083+13/aspcapStar-dr17-2M19485057+5005279.fits"),
        ("2M08514388+1146240", "apo1m", "M67", "apo1m/M67/aspcapStar-dr17-2M08514388+1146240.fits"),
        ("2M10454000-5937000", "lco25m", "CARINA", "lco25m/CARINA/aspcapStar-dr17-2M10454000-5937000.fits"),
        ("AP17155832+5707156ABCDEFGHIJK", "apo25m", "K04_083+13",
         "apo25m/K04_083+13/aspcapStar-dr17-AP17155832+5707156ABCDEFGHIJK.fits"),
        ("2M00000000+0000000", "lco25m", "CARINA", None),
        ("2M10454001-5937001", "lco25m", "CARINA", "lco25m/CARINA/aspcapStar-dr17-2M10454001-5937001.fits"),
    ]
    assert len(stars[3][0]) == 29
    for i, (*_, rel) in enumerate(stars):
        if rel:
            write_aspcapstar(base / rel, seed=i)
    files = {rel: base / rel for *_, rel in stars if rel}
    sha = {rel: download.sha1_of(path) for rel, path in files.items()}
    (base / "apo25m/K04_083+13/dr17_synspec_apo25m_K04_083+13.sha1sum").write_text(
        f"{sha[stars[0][3]]}  {Path(stars[0][3]).name}\n{'0' * 40}  {Path(stars[3][3]).name}\n")
    (base / "lco25m/CARINA/dr17_synspec_rev1_lco25m_CARINA.sha1sum").write_text(
        f"{sha[stars[2][3]]}  {Path(stars[2][3]).name}\n{'0' * 40}  {Path(stars[5][3]).name}\n")
    allstar = Table(rows=[s[:3] for s in stars], names=("APOGEE_ID", "TELESCOPE", "FIELD"),
                    dtype=("U30", "U6", "U20"))
    manifest = download.resolve_local(download.aspcapstar_relpaths(dr17, allstar), root,
                                      checksums=download.aspcapstar_checksums(dr17, allstar))
    assert list(manifest["status"]) == ["present", "present", "present", "corrupt", "missing", "corrupt"]
    assert "sha1" in manifest["reason"][3] and "sha1" in manifest["reason"][5]
    assert [Path(p) for p in manifest["path"][:3]] == [files[s[3]] for s in stars[:3]]


def test_a_dr14_apo1m_row_is_found_by_field_and_an_lco25m_row_is_refused(tmp_path):
    """DR14: apo1m stars (LOCATION_ID 1) live under <FIELD>/ with the FILE column's name; DR14 has no
    lco25m data, so such a row is refused with its reason, not fetched and not 'missing'."""
    root = tmp_path / "sas"
    results = root / "dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2"
    write_aspcapstar(results / "M67/aspcapStar-r8-l31c.2-2M08514388+1146240.fits", seed=1)
    write_aspcapstar(results / "4424/aspcapStar-r8-l31c.2-2M16333217+3942519.fits", seed=2)
    allstar = Table(rows=[("2M08514388+1146240", "apo1m", "M67", 1, "apStar-r8-2M08514388+1146240.fits"),
                          ("2M16333217+3942519", "apo25m", "064+42_MGA", 4424, "apStar-r8-2M16333217+3942519.fits"),
                          ("2M10454000-5937000", "lco25m", "CARINA", 5, "asStar-r8-2M10454000-5937000.fits")],
                    names=("APOGEE_ID", "TELESCOPE", "FIELD", "LOCATION_ID", "FILE"))
    manifest = download.resolve_local(download.aspcapstar_relpaths(DR14, allstar), root)
    assert list(manifest["status"]) == ["present", "present", "refused"]
    assert "dr14 has no aspcapStar files from it" in manifest["reason"][2]
    with SASServer(root) as srv:
        got = download.download_files(download.aspcapstar_jobs(DR14, allstar, srv.url, tmp_path / "out"),
                                      threads=1, **FAST)
        assert len(srv.gets()) == 2
    assert list(got["status"]) == ["downloaded", "downloaded", "refused"]
