"""Resuming after a failed training job: `snakemake --keep-going` finishes what does not depend on it and
writes no catalog; once the cause is gone, `snakemake` reruns exactly the failed job and what depends on
it, and the catalog is the one an uninterrupted run writes.

The job fails for a reason outside the code, as on a real cluster: its output folder cannot be written
to (made read-only; as root, where permissions do not stop a write, made immutable with chattr).
The write fails when the model's temporary file is created, so the check that no model or
temporary file is left guards the failure path, not the atomic rename itself (Snakemake also
removes a failed job's outputs).
"""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from conftest import copy_run, job_counts, run_snakemake

CATALOG = "results/mock/catalog/spectrophotometric_parallaxes.fits"


def _block(folder: Path) -> str:
    """Make ``folder`` refuse new files; returns how ('chmod' or 'chattr'). Skips if neither works."""
    folder.chmod(0o555)
    probe = folder / ".probe"
    try:
        probe.touch()
    except PermissionError:
        return "chmod"
    probe.unlink()
    folder.chmod(0o755)
    out = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"cannot make a folder unwritable here (root, and chattr: {out.stderr.strip()})")
    try:
        probe.touch()
    except PermissionError:
        return "chattr"
    subprocess.run(["chattr", "-i", str(folder)], check=True)
    pytest.skip("cannot make a folder unwritable here")


def _unblock(folder: Path, how: str) -> None:
    if how == "chattr":
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def _columns_equal(got: Table, want: Table) -> None:
    assert got.colnames == want.colnames
    assert len(got) == len(want)
    for name in want.colnames:
        a, b = np.ma.filled(got[name]), np.ma.filled(want[name])
        np.testing.assert_array_equal(a, b, err_msg=name)   # NaN == NaN here


def test_a_failed_train_job_is_rerun_alone_and_the_catalog_is_as_without_the_failure(mock_run, tmp_path):
    src, cfg = mock_run
    work = copy_run(src, tmp_path / "run")
    models = work / "results/mock/models"
    # A run that stopped while training: fold A's models and one of fold B's not written yet, so
    # nothing downstream either. Nine train jobs to do, of which one will fail.
    redo_a = sorted((models / "heldout_A").glob("*.fits"))
    fold_b = sorted((models / "heldout_B").glob("*.fits"))
    assert len(redo_a) == len(fold_b) >= 2
    # The end of a warm-start chain, so no other job waits for the one that fails: the smallest lambda
    # (model.cv_path: each lambda starts from the next larger one of its fold and offset) at the last
    # offset of the grid (model.cv_path_offsets: each later offset's lambda starts from the previous
    # offset's at that lambda, so a job of the first offset starts another).
    last = [p for p in fold_b if np.isclose(float(p.stem.split("_")[3]), cfg["model"]["offset_grid"][-1])]
    failing = min(last, key=lambda path: float(path.stem.split("_")[1]))
    others_b = [path for path in fold_b if path != failing]
    downstream = [work / CATALOG, work / "results/mock/crossval/crossval.csv", work / "results/mock/crossval/best.yaml"]
    for path in redo_a + [failing] + downstream:
        path.unlink()
    log = work / f"logs/mock/train/{failing.parent.name}_{failing.stem}.log"

    how = _block(failing.parent)
    try:
        first = run_snakemake(work, "--cores", "2", "--keep-going", "catalog")
    finally:
        _unblock(failing.parent, how)
    console = first.stdout + first.stderr
    assert first.returncode != 0, console
    assert job_counts(first) == {"train": len(redo_a) + 1, "crossval": 1, "catalog": 1}, console
    # Every other train job finished; the failed one left no model, partial or whole, and no temporary file.
    assert all(path.is_file() and path.stat().st_size > 0 for path in redo_a), console
    assert not failing.exists()
    assert sorted(failing.parent.iterdir()) == others_b
    assert f"{failing.parent.name}_{failing.stem}" in console or failing.name in console, console
    # Its log says why: the model could not be written (EACCES as a user, EPERM for chattr as root).
    assert "ERROR" in log.read_text() and failing.name in log.read_text(), log.read_text()
    assert any(why in log.read_text() for why in ("Permission denied", "Operation not permitted")), log.read_text()
    # Nothing downstream ran: no cross-validation table, no catalog.
    assert not any(path.exists() for path in downstream), console

    second = run_snakemake(work, "--cores", "2", "catalog")
    console = second.stdout + second.stderr
    assert second.returncode == 0, console
    assert job_counts(second) == {"train": 1, "crossval": 1, "catalog": 1}, console
    assert failing.is_file()
    assert not [p for p in (work / "results").rglob(".incomplete.*")], "a temporary file was left behind"

    # The retrained models and the catalog are those of the run that never failed.
    for path in redo_a + [failing]:
        _columns_equal(Table.read(path), Table.read(src / path.relative_to(work)))
    _columns_equal(Table.read(work / CATALOG), Table.read(src / CATALOG))
    assert "Nothing to be done" in run_snakemake(work, "-n", "catalog").stdout
