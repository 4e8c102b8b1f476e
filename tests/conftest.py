"""Shared test fixtures."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository's top folder."""
    return REPO


#: The mode of the workflow tests' mock runs. config.yaml's default is the paper mode, which fixes
#: lambda and the offset; the tests of the cross-validation (the leak, the offset choice, the science
#: bands, the config-change table) need the grid, so they run the improved mode. The paper mode is
#: run by the ``paper_run`` fixture and, as the README's main command, by CI.
TEST_MODE = "improved"


@pytest.fixture(scope="session")
def config() -> dict:
    """The project's config.yaml as a dict, in :data:`TEST_MODE` (tests that need the file as it
    is read it themselves)."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["mode"] = TEST_MODE
    return cfg


def run_snakemake(work: Path, *args, timeout: int = 900) -> subprocess.CompletedProcess:
    """This checkout's Snakefile in ``work`` with ``work``/config.yaml (targets and options in ``args``)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
         "--configfile", str(work / "config.yaml"), *args],
        capture_output=True, text=True, timeout=timeout,
    )


def write_mock_config(config: dict, work: Path, mode: str = TEST_MODE, **sections) -> dict:
    """``work``/config.yaml: config.yaml on the mock survey in ``mode``, with ``sections``
    ({section: {key: value}}) merged over it. Returns the config written."""
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg["survey"] = "mock"
    cfg["mode"] = mode
    for section, values in sections.items():
        cfg[section].update(values)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    return cfg


def copy_run(src: Path, work: Path) -> Path:
    """A copy of the workflow run in ``src`` in ``work``, which Snakemake sees exactly as built.

    Data files are hard links (same inode, same modification time), so the copy costs no disk;
    rules replace files by renaming, so running in the copy never changes ``src``. A test that
    edits a file of the copy in place must replace it instead (write a new file, rename it over).
    """
    for name in ("results", "resources", "logs", "benchmarks"):   # a rule's benchmark file is an output too
        if (src / name).exists():
            shutil.copytree(src / name, work / name, copy_function=os.link)
    shutil.copytree(src / ".snakemake", work / ".snakemake", ignore=shutil.ignore_patterns("log", "locks"))
    shutil.copy2(src / "config.yaml", work / "config.yaml")
    return work


def job_counts(out: subprocess.CompletedProcess) -> dict:
    """{rule: count} from the 'Job stats' table Snakemake prints (empty if nothing ran or is planned)."""
    lines = (out.stdout + out.stderr).splitlines()
    if "Job stats:" not in lines:
        return {}
    jobs = {}
    for line in lines[lines.index("Job stats:") + 3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


@pytest.fixture(scope="session")
def mock_run(config, tmp_path_factory):
    """The workflow run once on the default mock survey in a scratch folder, through the catalog.

    Returns (folder, config). Tests must not change the folder: copy it (see ``figures_run``).
    """
    work = tmp_path_factory.mktemp("mock_run")
    cfg = write_mock_config(config, work)
    out = run_snakemake(work, "--cores", "2", "catalog")
    (work / "console.txt").write_text(out.stdout + out.stderr)   # what a user sees (test_first_run.py)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    return work, cfg


@pytest.fixture(scope="session")
def figures_run(mock_run, tmp_path_factory):
    """A copy (``copy_run``) of the mock run in which ``snakemake figures`` has run once.

    Returns (folder, config, the figures run's CompletedProcess).
    """
    src, cfg = mock_run
    work = copy_run(src, tmp_path_factory.mktemp("figures_run"))
    out = run_snakemake(work, "--cores", "2", "figures")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    return work, cfg, out


@pytest.fixture(scope="session")
def paper_run(config, tmp_path_factory):
    """The default mock in ``mode: paper`` run once up to the design matrix (parent sample, pixel set,
    X and X_err). Returns the folder; tests must not change it."""
    work = tmp_path_factory.mktemp("paper_run")
    write_mock_config(config, work, mode="paper")
    out = run_snakemake(work, "--cores", "2", "results/mock/features/X.npy", timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return work


#: Fixtures that run the whole workflow (minutes): tests using them are marked slow, so
#: `pytest -m "not slow"` is a fast lane for development, while CI runs everything.
WORKFLOW_FIXTURES = {"mock_run", "figures_run", "paper_run"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
