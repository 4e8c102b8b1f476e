"""Operations: what a user finds after a job fails, is killed or fills the disk, and who can read results.

Through ``snakemake`` where a user would meet it: on survey dr14 the ``summary`` rule needs only
our catalog (tests/data holds the published one, with the same columns), so these runs need no
mock run; the disk-full run fills a small tmpfs under a copy of the mock run.
"""

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import copy_run, run_snakemake
from localservers import SASServer
from spectroparallax.io import atomic
from spectroparallax.io.npy_rows import npy_row_writer

CATALOG = Path(__file__).parent / "data" / "data_HoggEilersRix2018.fits"
OURS = "results/dr14/catalog/spectrophotometric_parallaxes.fits"
SUMMARY = "results/dr14/summary"


def _dr14(config, work: Path, **changes) -> None:
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg.update(survey="dr14", **changes)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))


def _our_catalog(work: Path, data: bytes) -> None:
    (work / OURS).parent.mkdir(parents=True, exist_ok=True)
    (work / OURS).write_bytes(data)


def _files(folder: Path) -> list[str]:
    """Every file below ``folder`` (hidden ones too), relative to it."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# 1. A failed job's log says why ----------------------------------------------------------------

def test_a_job_failing_on_bad_input_leaves_the_error_in_its_log(repo, config, tmp_path):
    """The exception's one line, then its traceback, in the job's log; no output, nothing half-written."""
    _dr14(config, tmp_path)
    _our_catalog(tmp_path, b"SIMPLE  =                    T" + b" " * 2849)  # a FITS header, no table
    out = run_snakemake(tmp_path, "--cores", "1", f"{SUMMARY}/summary.json", timeout=300)
    assert out.returncode != 0
    log = (tmp_path / "logs/dr14/summary.log").read_text().splitlines()
    assert log, "empty log"
    error = [line for line in log if line.startswith("ERROR: ")]
    assert len(error) == 1 and error[0].startswith(f"ERROR: InputFileError: {OURS}: not a readable table"), log
    assert log.index("Traceback (most recent call last):") > log.index(error[0])  # the traceback below it
    assert log[-1].endswith(error[0].removeprefix("ERROR: InputFileError: "))
    assert _files(tmp_path / SUMMARY) == []
    # On the console the one line only (it names the file and what to do); the traceback is in the log.
    message = error[0].removeprefix("ERROR: InputFileError: ")
    assert message in out.stderr.splitlines() and "Traceback" not in out.stderr


def test_an_archive_error_is_one_line_on_the_console_and_the_traceback_in_the_log(repo, config, tmp_path):
    """download_allstar raises an ArchiveError (no handler of its own: job_logging's hook reports it):
    the console shows its one line once, the log that line and the traceback."""
    (tmp_path / "empty").mkdir()
    with SASServer(tmp_path / "empty") as server:  # every file is missing (404)
        _dr14(config, tmp_path, apogee={**config["apogee"], "sas_url": server.url})
        out = run_snakemake(tmp_path, "--cores", "1", "download_allstar", timeout=300)
    assert out.returncode != 0
    log = (tmp_path / "logs/dr14/download_allstar.log").read_text().splitlines()
    line = [line for line in out.stderr.splitlines() if line.startswith("SDSS SAS: ") and server.url in line]
    assert len(line) == 1, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    error = [entry for entry in log if entry.startswith("ERROR: ")]
    assert len(error) == 1 and error[0].endswith(": " + line[0]), log
    assert "Traceback (most recent call last):" in log
    assert _files(tmp_path / "resources") == []


def test_a_download_progress_bar_stays_out_of_the_log(repo, config, tmp_path):
    """download_allstar draws a progress bar on stderr; the log keeps lines, not its redraws."""
    from spectroparallax.archives import sas

    served = tmp_path / "sas" / sas.allstar_relpath(sas.layout("dr14", config["apogee"]["versions"]))
    served.parent.mkdir(parents=True)
    served.write_bytes(b"\0" * 3_000_000)
    with SASServer(tmp_path / "sas") as server:
        _dr14(config, tmp_path, apogee={**config["apogee"], "sas_url": server.url})
        out = run_snakemake(tmp_path, "--cores", "1", "download_allstar", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "allStar-l31c.2.fits: 3.00MB [" in out.stderr  # the bar is drawn for the user
    log = (tmp_path / "logs/dr14/download_allstar.log").read_bytes()  # bytes: "\r" kept as it is
    assert b"B/s]" not in log and b"\r" not in log, log


def test_every_rule_script_logs_through_job_logging(repo):
    """The log is opened by the one helper, as the script's first statement, and by nothing else."""
    scripts = sorted((repo / "workflow/scripts").glob("*/*.py"))
    assert len(scripts) >= 25
    for script in scripts:
        body = script.read_text().split('"""', 2)[2]  # after the module docstring
        first = next(line for line in body.splitlines() if line and not line.startswith(("import ", "from ")))
        assert first.startswith("job_logging(snakemake"), (script.name, first)
        assert "snakemake.log" not in body and "basicConfig" not in body, script.name


# 2. A killed writer's temporary file ----------------------------------------------------------

_KILLED_WRITER = """
import sys, time
import numpy as np
from spectroparallax.io.npy_rows import npy_row_writer
with npy_row_writer(sys.argv[1], (1000, 1000)) as out:
    out.write(np.ones((10, 1000), np.float32))
    out._handle.flush()
    print("written", flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_mid_write_leaves_a_temporary_file_the_next_write_removes(tmp_path):
    target = tmp_path / "X.npy"
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "written\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    left = _files(tmp_path)
    assert left == [atomic.temp_path(target).name] and left[0].startswith(".incomplete."), left

    with npy_row_writer(target, (3, 2)) as out:
        out.write(np.arange(6, dtype=np.float32).reshape(3, 2))
    assert _files(tmp_path) == ["X.npy"]
    assert np.load(target).tolist() == [[0, 1], [2, 3], [4, 5]]


def test_a_rerun_after_a_killed_job_removes_its_temporary_files(repo, config, tmp_path):
    """What SIGKILL leaves (an empty and a half-written temporary file) is gone after the next run."""
    _dr14(config, tmp_path)
    _our_catalog(tmp_path, CATALOG.read_bytes())
    (tmp_path / SUMMARY).mkdir(parents=True)
    (tmp_path / SUMMARY / ".incomplete.summary.json").write_bytes(b"")
    (tmp_path / SUMMARY / ".incomplete.summary.csv").write_text("quantity,val")
    out = run_snakemake(tmp_path, "--cores", "1", f"{SUMMARY}/summary.json", timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert _files(tmp_path / SUMMARY) == ["summary.csv", "summary.json"]
    assert "n_stars" in (tmp_path / SUMMARY / "summary.json").read_text()


# 3. Permissions ------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["umask022", "umask002"])
def test_outputs_are_as_readable_as_the_umask_allows(repo, config, tmp_path, umask):
    _dr14(config, tmp_path)
    _our_catalog(tmp_path, CATALOG.read_bytes())
    previous = os.umask(umask)
    try:
        out = run_snakemake(tmp_path, "--cores", "1", f"{SUMMARY}/summary.json", timeout=300)
    finally:
        os.umask(previous)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for name in ("summary.json", "summary.csv"):
        assert oct((tmp_path / SUMMARY / name).stat().st_mode & 0o777) == oct(0o666 & ~umask), name


# 4. Disk full --------------------------------------------------------------------------------

def _one_line_disk_full(message: str, path: str) -> None:
    assert "\n" not in message
    assert message.startswith(f"{path}: no space left on device (") and message.endswith(" and rerun"), message


def test_a_full_disk_is_one_line_naming_the_file(tmp_path, monkeypatch):
    """Without a small file system to fill (not root): a write that raises ENOSPC."""
    target = tmp_path / "summary.json"

    def full(self, text):
        Path.write_bytes(self, b"x" * 3000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(atomic.DiskFullError) as info:
        atomic.write_text("{}", target)
    _one_line_disk_full(str(info.value), str(target))
    assert "(2.9 KiB of it written when the disk filled, the whole file needs more;" in str(info.value)
    assert _files(tmp_path) == []


def _mount_tmpfs(folder: Path, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({out.stderr.strip()})")


def test_a_job_filling_the_disk_logs_one_line_with_the_file_and_the_space_needed(mock_run, tmp_path):
    """The design matrix written onto a file system half the size of X.npy."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    src, _ = mock_run
    work = tmp_path / "run"
    copy_run(src, work)
    x_size = (src / "results/mock/features/X.npy").stat().st_size
    features = work / "results/mock/features"
    _mount_tmpfs(features, x_size // 2)  # hides the copied features: design_matrix runs again
    try:
        out = run_snakemake(work, "--cores", "1", "results/mock/features/X.npy", timeout=600)
        left = _files(features)
    finally:
        subprocess.run(["umount", str(features)], check=True)
    assert out.returncode != 0
    log = (work / "logs/mock/design_matrix.log").read_text().splitlines()
    error = [line for line in log if line.startswith("ERROR: DiskFullError: ")]
    assert len(error) == 1, log
    message = error[0].removeprefix("ERROR: DiskFullError: ")
    # X.npy and X_err.npy are written in step (the first is open while the second fills): the job needs both
    _one_line_disk_full(message, "results/mock/features/X_err.npy")
    assert (f"(the file needs {atomic._size(x_size)}, {atomic._size(2 * x_size)} with X.npy written alongside it;"
            in message), message
    assert left == []  # no output and no temporary file on the full disk
