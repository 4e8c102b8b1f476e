"""The SLURM profile and the jobs' resource requests, without a cluster.

The run on a real SLURM controller is tests/slurm/run.sh (CI runs it after this suite). These
tests use the default venv, which has no SLURM executor plugin: the dry runs pass
``--executor dryrun`` over the profile's ``executor: slurm`` (with the plugin installed, plain
``snakemake -n --profile workflow/profiles/slurm`` prints the same jobs; run.sh checks that).
"""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import yaml
from astropy.table import Table

from spectroparallax.io import jobsize


def _load_check(repo):
    spec = importlib.util.spec_from_file_location("slurm_check", repo / "tests" / "slurm" / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def check(repo):
    return _load_check(repo)


def _dry_run(repo, workdir, *args):
    cmd = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(repo / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(repo / "config.yaml"), *args]
    out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def paper_dry_run(repo, tmp_path_factory):
    """Dry run of the paper's configuration (config.yaml: survey dr14) with the SLURM profile."""
    out = _dry_run(repo, tmp_path_factory.mktemp("paper"), "--profile", "workflow/profiles/slurm",
                   "--executor", "dryrun")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def test_paper_dry_run_shows_resources_for_every_job(check, paper_dry_run):
    assert check.check_paper_dry_run(paper_dry_run) == []
    jobs = {j["rule"]: j for j in check.parse_jobs(paper_dry_run)}
    # The profile's partition reaches every job; threads are the rules' (not capped at 1).
    assert jobs["train"]["resources"]["slurm_partition"] == "your-partition"
    assert jobs["train"]["threads"] == 4 and jobs["aspcapstar_shard"]["threads"] == 4
    # Before any data exist, jobs are sized for HER19's sample: the requests cover the peaks
    # measured at that size by benchmarks/rule_memory.py (train 1689 MB, crossval 4556 MB) and the
    # allStar reduction's memory map of the ~3.5 GB file.
    assert int(jobs["train"]["resources"]["mem_mb"]) >= 1689
    assert int(jobs["crossval"]["resources"]["mem_mb"]) >= 4556
    assert int(jobs["catalog"]["resources"]["mem_mb"]) >= 4556
    assert int(jobs["reduce_allstar"]["resources"]["mem_mb"]) >= 3500
    # Download jobs hold archive connections; the local cut-flow job asks for little.
    assert jobs["aspcapstar_shard"]["resources"]["archive_connections"] == "4"
    assert jobs["gaia_chunk"]["resources"]["archive_connections"] == "1"
    assert jobs["download_allstar"]["resources"]["archive_connections"] == "1"


def test_mock_downloads_hold_no_archive_connections(check, repo, tmp_path):
    out = _dry_run(repo, tmp_path, "--config", "survey=mock")
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = check.parse_jobs(out.stdout)
    held = {j["resources"].get("archive_connections") for j in jobs if j["rule"] in ("aspcapstar_shard", "gaia_chunk")}
    assert held == {"0"}
    # The default mock's jobs are small: none asks for more than 1 GB.
    assert all(int(j["resources"]["mem_mb"]) <= 1000 for j in jobs if j["rule"] != "all")


def test_download_threads_above_the_connection_cap_stop_the_run(repo, tmp_path, config):
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg["apogee"]["download_threads"] = 12
    cfg["archive"]["max_connections"] = 8
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = _dry_run(repo, tmp_path, "--configfile", str(tmp_path / "c.yaml"))
    assert out.returncode != 0
    message = out.stdout + out.stderr
    assert "apogee.download_threads (12)" in message and "archive.max_connections (8)" in message


def test_ci_profile_changes_only_partition_and_account(repo):
    main = yaml.safe_load((repo / "workflow/profiles/slurm/config.yaml").read_text())
    ci = yaml.safe_load((repo / "tests/slurm/profile/config.yaml").read_text())
    assert main["executor"] == "slurm"
    own = {"slurm_partition", "slurm_account"}
    assert set(main["default-resources"]) == set(ci["default-resources"])
    assert {k: v for k, v in main["default-resources"].items() if k not in own} == \
        {k: v for k, v in ci["default-resources"].items() if k not in own}


def test_localrules_are_the_small_jobs(check, repo):
    local = check.declared_localrules(repo)
    assert "select_samples" in local
    heavy = {"mock_survey", "download_allstar", "reduce_allstar", "aspcapstar_shard", "gaia_chunk",
             "normalize_shard", "select_pixels", "design_matrix", "train", "crossval", "catalog"}
    assert not local & heavy


def test_sizes_are_read_from_the_data(tmp_path):
    X = np.zeros((7, 13), np.float32)
    np.save(tmp_path / "X.npy", X)
    assert jobsize.npy_shape(tmp_path / "X.npy") == (7, 13)
    parent = Table({"fold": ["A", "B", "A", "B", "B"], "training": [True, True, False, True, True]})
    parent.write(tmp_path / "parent.fits")
    assert jobsize.fits_rows(tmp_path / "parent.fits") == 5
    assert jobsize.fold_counts(tmp_path / "parent.fits") == ({"A": 2, "B": 3}, {"A": 1, "B": 3})


def test_expected_sizes_follow_the_survey(config):
    paper = jobsize.expected_sizes(dict(config, survey="dr14"))
    assert (paper.parent, paper.training, paper.features) == (44784, 28226, 7414)
    mock = jobsize.expected_sizes(dict(config, survey="mock", mock={"n_stars": 10000}))
    assert mock.rows == 4200 and mock.parent == 3700 and mock.training == 2500


def test_requests_grow_with_the_data_and_the_attempt():
    small, paper = jobsize.train_mem_mb(500, 7414), jobsize.train_mem_mb(14113, 7414)
    assert jobsize.MIN_MEM_MB <= small < paper
    assert jobsize.train_mem_mb(14113, 7414, attempt=2) == 2 * paper
    assert jobsize.predict_mem_mb(22392, 7414) > jobsize.predict_mem_mb(11196, 7414)
    # normalize: one batch in memory, the shard's outputs memory-mapped
    assert jobsize.normalize_mem_mb(12500, 2000) > jobsize.normalize_mem_mb(12500, 500)
    assert jobsize.normalize_mem_mb(2000, 2000) < jobsize.normalize_mem_mb(12500, 2000)
    assert jobsize.download_runtime_min(12500, 4) < jobsize.download_runtime_min(12500, 1)
    assert jobsize.minutes(0) == jobsize.MIN_RUNTIME_MIN and jobsize.minutes(30, attempt=2) == 60
