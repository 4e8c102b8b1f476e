"""Issue 15: inputs that are malformed, stale or empty stop the workflow with one clear line and
leave nothing half-written behind (package entry points here; the workflow itself further down)."""

import os

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.archives import gaia_query
from spectroparallax.archives.columns import GAIA_COLUMNS
from spectroparallax.io.errors import InputFileError


def _chunk(path, n=3):
    table = Table({name: np.zeros(n, dtype=spec[0]) for name, spec in GAIA_COLUMNS.items()})
    table["tmass_designation"] = [f"{i:08d}+0000000" for i in range(n)]
    gaia_query.write_chunk(table, path, "-- test")
    return table


@pytest.mark.parametrize("damage", ["truncate", "html", "no_columns"])
def test_a_malformed_gaia_chunk_is_named_and_set_aside(tmp_path, damage):
    good, bad = tmp_path / "chunk_0.fits", tmp_path / "chunk_1.fits"
    _chunk(good)
    _chunk(bad)
    if damage == "truncate":
        os.truncate(bad, bad.stat().st_size - 2880)
    elif damage == "html":
        bad.write_text("<html><body>Error 500: null</body></html>")
    else:
        Table({"x": [1]}).write(bad, overwrite=True)
    with pytest.raises(InputFileError) as info:
        gaia_query.read_chunks([good, bad])
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{bad}: select_samples: Gaia chunk unreadable")
    assert "moved aside to chunk_1.fits.bad" in msg and msg.endswith("queries this chunk again")
    # The bad chunk and its ADQL are gone from Snakemake's view (so gaia_chunk 1 runs again); the good one stays.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk_0.adql", "chunk_0.fits", "chunk_1.adql.bad",
                                                          "chunk_1.fits.bad"]


def test_empty_chunks_read_as_an_empty_table_with_every_column(tmp_path):
    _chunk(tmp_path / "chunk_0.fits", n=0)
    _chunk(tmp_path / "chunk_1.fits", n=2)
    assert len(gaia_query.read_chunks([tmp_path / "chunk_0.fits", tmp_path / "chunk_1.fits"])) == 2
    empty = gaia_query.read_chunks([tmp_path / "chunk_0.fits"])
    assert len(empty) == 0 and empty.colnames == list(GAIA_COLUMNS)



class _CutShort(Table):
    """A result table that the loopback archive serializes and then cuts off mid-stream."""

    def write(self, buf, **kwargs):
        super().write(buf, **kwargs)
        buf.truncate(len(buf.getvalue()) // 2)


def test_a_truncated_votable_from_the_archive_is_one_line_and_leaves_no_chunk(tmp_path):
    from localservers import TAPServer
    from test_gaia_query import FAST, TABLES, Join, catalogue

    from spectroparallax.io.errors import ArchiveError
    cat = catalogue()

    def cut_short(query, uploads):
        return _CutShort(Join(cat)(query, uploads))

    dest = tmp_path / "chunk_0.fits"
    with TAPServer(cut_short) as tap:
        with pytest.raises(ArchiveError) as info:
            gaia_query.query_chunk(list(cat["tmass_designation"][:3]), dest, tap_url=tap.url, tables=TABLES, **FAST)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("Gaia Archive: unreadable reply") and tap.url in msg
    assert list(tmp_path.iterdir()) == []   # neither the chunk nor its ADQL: the next run queries again


# ------------------------------------------------------------------------------------------------
# Through the workflow, as a user hits it: a small mock run, copied and then damaged per test.

import shutil  # noqa: E402

import yaml  # noqa: E402
from conftest import run_snakemake  # noqa: E402

from spectroparallax.model import files as model_files  # noqa: E402

MODEL_A = "results/mock/models/heldout_A/lambda_30.0_offset_0.048.fits"


@pytest.fixture(scope="module")
def small_run(config, tmp_path_factory):
    """The workflow on a 400-star mock through crossval, one (lambda, offset): ~1 min on 2 cores."""
    work = tmp_path_factory.mktemp("badinput_run")
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg["survey"] = "mock"
    cfg["mock"]["n_stars"] = 400
    cfg["model"].update(lambda_grid=[30.0], offset_grid=[0.048])
    cfg["apogee"]["download_shards"] = 2
    cfg["gaia"]["query_chunks"] = 2
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = run_snakemake(work, "--cores", "2", "results/mock/crossval/best.yaml")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return work


@pytest.fixture
def run_copy(small_run, tmp_path):
    """A copy of the small run (hard links: replace a file before changing it, never write into it)."""
    for name in ("results", "resources", "logs"):
        shutil.copytree(small_run / name, tmp_path / name, copy_function=os.link)
    shutil.copytree(small_run / ".snakemake", tmp_path / ".snakemake", ignore=shutil.ignore_patterns("log", "locks"))
    shutil.copy2(small_run / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def _replace(path, data: bytes):
    path.unlink()
    path.write_bytes(data)


def _error_line(out, start):
    """The one line of ``out``'s stderr that starts with ``start`` (after an exception's class name)."""
    lines = [line.split(": ", 1)[1] if line.startswith(("spectroparallax.", "SystemExit")) else line
             for line in out.stderr.splitlines()]
    found = [line for line in lines if line.startswith(start)]
    assert found, out.stderr[-4000:]
    return found[0]


def test_workflow_truncated_gaia_chunk_is_set_aside_and_queried_again(run_copy):
    chunk = run_copy / "resources/mock/gaia_dr2/chunk_1.fits"
    _replace(chunk, chunk.read_bytes()[:-2880])
    out = run_snakemake(run_copy, "--cores", "1", "results/mock/samples/parent.fits")
    assert out.returncode != 0
    line = _error_line(out, str(chunk.relative_to(run_copy)))
    assert "select_samples: Gaia chunk unreadable" in line and "moved aside to chunk_1.fits.bad" in line
    assert not chunk.exists() and chunk.with_name("chunk_1.fits.bad").exists()
    assert not (run_copy / "results/mock/samples/parent.fits").exists()
    # The next run queries the chunk again and goes through.
    out = run_snakemake(run_copy, "--cores", "1", "results/mock/samples/parent.fits")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "rule gaia_chunk" in out.stderr and len(Table.read(chunk)) > 0


def test_workflow_crossval_refuses_an_unconverged_model_file(run_copy):
    path = run_copy / MODEL_A
    model = Table.read(path)
    model.meta["CONVERGD"] = False
    path.unlink()
    model.write(path)
    out = run_snakemake(run_copy, "--cores", "1", "results/mock/crossval/best.yaml")
    assert out.returncode != 0
    line = _error_line(out, "crossval: ")
    assert line.startswith(f"crossval: {MODEL_A}: model file of a fit that did not converge (CONVERGD = False)")
    assert not path.exists() and path.with_name(path.name + ".bad").exists()
    assert not (run_copy / "results/mock/crossval/best.yaml").exists()
    # The next run trains that model again; crossval then reads only converged models.
    out = run_snakemake(run_copy, "--cores", "1", "results/mock/crossval/best.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    assert model_files.read_model(path).meta["CONVERGD"] is True


def test_workflow_a_cut_that_empties_the_parent_sample_names_it(run_copy):
    cfg = yaml.safe_load((run_copy / "config.yaml").read_text())
    cfg["sample"]["colour_cuts"]["hw2_min"] = 10.0
    (run_copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = run_snakemake(run_copy, "--cores", "1", "--forcerun", "select_samples", "results/mock/samples/parent.fits")
    assert out.returncode != 0
    line = _error_line(out, "select_samples: Parent Sample: no star left after the cut 'eq. 7: H - W2 <= 10.0'")
    assert "0 after" in line and "check sample.colour_cuts.hw2_min" in line
    assert not (run_copy / "results/mock/samples/parent.fits").exists()
    assert not (run_copy / "results/mock/samples/cutflow.csv").exists()


def test_workflow_counts_a_shared_gaia_source_and_a_placeholder_parallax_error(run_copy):
    """Two APOGEE stars given one Gaia source_id, and a training star with parallax_error 1e-12: the
    rerun keeps one of the pair (the higher S/N), keeps the other star in the Parent Sample but out of
    training, and counts both in cutflow.csv."""
    before = Table.read(run_copy / "results/mock/samples/parent.fits")
    training = before[np.asarray(before["training"], bool)]
    order = np.argsort(np.asarray(training["SNR"]))
    low, high, tiny = training[order[0]], training[order[-1]], training[order[len(order) // 2]]
    chunks = sorted((run_copy / "resources/mock/gaia_dr2").glob("chunk_*.fits"))
    assert chunks
    for path in chunks:
        chunk = Table.read(path)
        names = np.char.strip(np.asarray(chunk["tmass_designation"], dtype=str))
        chunk["source_id"][names == low["APOGEE_ID"][2:]] = high["source_id"]
        chunk["parallax_error"][names == tiny["APOGEE_ID"][2:]] = 1e-12
        path.unlink()
        chunk.write(path)
    out = run_snakemake(run_copy, "--cores", "1", "results/mock/samples/parent.fits")
    assert out.returncode == 0, out.stderr[-3000:]
    parent = Table.read(run_copy / "results/mock/samples/parent.fits")
    ids = list(parent["APOGEE_ID"])
    assert high["APOGEE_ID"] in ids and low["APOGEE_ID"] not in ids and len(parent) == len(before) - 1
    assert not parent["training"][ids.index(tiny["APOGEE_ID"])]
    flow = Table.read(run_copy / "results/mock/samples/cutflow.csv")
    removed = {(r["sample"], r["cut"].split(" (")[0]): r["removed"] for r in flow}
    assert removed[("parent", "shares its Gaia source_id with another APOGEE star")] == 1
    fold = f"training {tiny['fold']}"
    assert removed[(fold, "eq. 8 context: parallax_error missing, non-positive or below 0.001 mas")] == 1
