"""The Snakemake workflow as users call it: dry runs, lint, and config validation."""

import subprocess
import sys

import pytest
import yaml


def snakemake(repo, *args, workdir=None):
    """Run the snakemake CLI of this interpreter's environment on the repository's Snakefile,
    in ``workdir`` (a fresh folder, so outputs of earlier runs don't change the DAG)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), *args]
    if workdir is not None:
        cmd += ["--directory", str(workdir)]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)


#: The allStar file each release's run downloads (shared/data/sas_layout.md sec. 2, by hand).
ALLSTAR_FILES = {
    "dr14": "resources/dr14/sas/dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits",
    "dr16": "resources/dr16/sas/dr16/apogee/spectro/aspcap/r12/l33/allStar-r12-l33.fits",
    "dr17": "resources/dr17/sas/dr17/apogee/spectro/aspcap/dr17/synspec_rev1/allStar-dr17-synspec_rev1.fits",
}


@pytest.mark.parametrize("survey", ["mock", "dr14", "dr16", "dr17"])
def test_dry_run_lists_the_dag(repo, tmp_path, survey):
    """A later release is one key: --config survey=dr17 plans the download of its own allStar file."""
    out = snakemake(repo, "-n", "--configfile", str(repo / "config.yaml"), "--config", f"survey={survey}",
                    workdir=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = dict(line.split() for line in out.stdout.splitlines()
                if len(line.split()) == 2 and line.split()[1].isdigit())
    assert jobs.get("aspcapstar_shard") == "4" and jobs.get("gaia_chunk") == "10"   # config.yaml's shards
    assert ("mock_survey" in jobs) == (survey == "mock")
    assert ("download_allstar" in jobs) == (survey != "mock")
    if survey != "mock":
        assert f"output: {ALLSTAR_FILES[survey]}" in out.stdout, out.stdout


def test_lint_is_clean(repo):
    out = snakemake(repo, "--lint")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Lints for" not in out.stdout + out.stderr, out.stdout + out.stderr


def _bad_config(tmp_path, config, edit):
    bad = yaml.safe_load(yaml.safe_dump(config))
    edit(bad)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    return path


@pytest.mark.parametrize(
    "edit, named",
    [
        (lambda c: c["mock"].update(n_starz=5), "n_starz"),
        (lambda c: c["sample"]["training"].update(parallax_error_max="0.1 mas"), "parallax_error_max"),
        (lambda c: c.update(survey="dr15"), "survey"),
        (lambda c: c["model"].update(lambda_grid=[0.0, 3.0]), "lambda_grid"),
        (lambda c: c["mock"].update(release="dr15"), "release"),
        (lambda c: c["apogee"]["versions"]["dr14"].pop("results"), "results"),
    ],
    ids=["misspelled-key", "string-for-number", "unknown-survey", "lambda-zero", "unknown-mock-release",
         "dr14-without-results"],
)
def test_bad_config_stops_with_the_key_named(repo, tmp_path, config, edit, named):
    path = _bad_config(tmp_path, config, edit)
    out = snakemake(repo, "-n", "--configfile", str(path), workdir=tmp_path)
    assert out.returncode != 0
    message = out.stdout + out.stderr
    assert "Error validating config" in message, message
    assert named in message, message


def test_reference_offset_outside_the_grid_stops_with_one_line(repo, tmp_path, config):
    """Cross-validation can only keep a reference offset it has models for: one line says so."""
    path = _bad_config(tmp_path, config, lambda c: c["model"].update(reference_offset=0.03))
    out = snakemake(repo, "-n", "--configfile", str(path), workdir=tmp_path)
    assert out.returncode != 0
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "model.reference_offset (0.03)" in line]
    assert len(lines) == 1 and "model.offset_grid" in lines[0] and "null" in lines[0], out.stdout + out.stderr
