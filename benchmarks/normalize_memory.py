"""Benchmark: peak memory of the normalization step at the paper's size (45,000 stars).

Runs the work of the workflow's rules from the spectra to the design matrix, each step in its own
process (so each peak is that step's), on synthetic aspcapStar-like spectra:

1. normalize_shard: one job's files (n_stars / apogee.download_shards FITS files, written for the
   run) through ``normalize.normalize_files`` with the config's spectra options (shard_size
   spectra in memory at a time), as workflow/scripts/spectra/normalize_shard.py does;
2. select_pixels: ``normalize.shard_coverage`` over the download_shards shards (the other shards'
   arrays are copies of the first's), as workflow/scripts/spectra/select_pixels.py does;
3. design_matrix: ``features.write_design_matrix`` for a Parent Sample of all n_stars stars drawn
   across the shards in random order, as workflow/scripts/sample/design_matrix.py does.

Reports each process's peak resident set size (VmHWM, the kernel's ru_maxrss of that process
alone; it counts the interpreter and its libraries, ~0.2 GB, and any memory-mapped file pages
the process touched) against the 8 GB the issue allows. Last line: one JSON object. Needs about 7 GB of scratch disk
(--workdir, removed afterwards unless --keep) and a few minutes on 2 cores.

    python benchmarks/normalize_memory.py [--n-stars 45000] [--workdir DIR] [--keep]
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from spectroparallax.io import shards
from spectroparallax.sample import features
from spectroparallax.spectra import apogee_grid, normalize
from spectroparallax.mock.writers import aspcapstar_hdulist

REPO = Path(__file__).resolve().parents[1]
LIMIT_MB = 8192


def _peak_rss_mb() -> float:
    """This process's peak resident set size [MB].

    Linux's VmHWM; ru_maxrss would do but for one flaw: a child process started by a larger
    parent inherits the parent's peak in it across fork and exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# ---------------------------------------------------------------------------------------------
# The steps, run in child processes.


def step_normalize(work: Path, cfg: dict) -> dict:
    opts = cfg["spectra"]
    paths = sorted((work / "fits").glob("*.fits"))
    out = work / "spectra" / "shard_0"
    stars = normalize.normalize_files(
        paths, out / "flux.npy", out / "err.npy", shard_size=opts["shard_size"],
        degree=opts["chebyshev_degree"], max_normalized_error=opts["max_normalized_error"],
        bad_pixel_error=opts["bad_pixel_error"], min_continuum_pixels=opts["min_continuum_pixels"],
        grow=opts["mask_grow"],
    )
    return {"n_files": len(paths), "n_ok": int((stars["status"] == "ok").sum())}


def step_select_pixels(work: Path, cfg: dict) -> dict:
    from astropy.table import Table

    n_shards = cfg["apogee"]["download_shards"]
    coverage, n_read = normalize.shard_coverage(
        [work / "spectra" / f"shard_{k}" / "err.npy" for k in range(n_shards)],
        [Table.read(work / "spectra" / f"shard_{k}" / "stars.ecsv") for k in range(n_shards)],
        max_error=cfg["spectra"]["max_normalized_error"],
    )
    keep = np.flatnonzero(coverage >= cfg["spectra"]["min_pixel_coverage"])
    np.save(work / "pixels.npy", keep)
    return {"n_read": n_read, "n_pixels": int(keep.size)}


def step_design_matrix(work: Path, cfg: dict) -> dict:
    from astropy.table import Table

    n_shards = cfg["apogee"]["download_shards"]
    parent = Table.read(work / "parent.fits")
    shard_stars = [Table.read(work / "spectra" / f"shard_{k}" / "stars.ecsv") for k in range(n_shards)]

    shard_files = [(work / "spectra" / f"shard_{k}" / "flux.npy", work / "spectra" / f"shard_{k}" / "err.npy")
                   for k in range(n_shards)]
    shape = features.write_design_matrix(
        parent, shard_stars, shard_files, np.load(work / "pixels.npy"), work / "X.npy", work / "X_err.npy",
        clip=cfg["features"]["flux_clip"], ln_err_max=cfg["features"]["ln_flux_err_max"],
    )
    X = np.load(work / "X.npy", mmap_mode="r")
    return {"shape": list(shape), "finite": bool(np.isfinite(X[:: max(1, len(X) // 100)]).all())}


STEPS = {"normalize_shard": step_normalize, "select_pixels": step_select_pixels,
         "design_matrix": step_design_matrix}


def run_child(step: str, work: Path) -> dict:
    """Run one step in a fresh interpreter; return its report (peak RSS included)."""
    out = subprocess.run([sys.executable, __file__, "--child", step, "--workdir", str(work)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Synthetic inputs, written by the parent process.


class FitsWriter:
    """Writes aspcapStar-like files as the mock's writer does, without its per-file cost.

    One file is built with astropy (spectroparallax.mock.writers.aspcapstar_hdulist); every other
    file is those bytes with the flux and error data replaced (big-endian float32 at the same
    offsets), which is what astropy would write for them.
    """

    def __init__(self):
        import io

        marker_flux = np.arange(apogee_grid.N_PIXELS, dtype=np.float32)
        marker_err = marker_flux + np.float32(1e5)
        buf = io.BytesIO()
        aspcapstar_hdulist("2M00000000+0000000", marker_flux, marker_err).writeto(buf)
        self.template = buf.getvalue()
        self.at_flux = self.template.find(marker_flux.astype(">f4").tobytes())
        self.at_err = self.template.find(marker_err.astype(">f4").tobytes())
        if min(self.at_flux, self.at_err) < 0:
            raise RuntimeError("could not locate the data of the aspcapStar template")

    def write(self, path, flux, err):
        data = bytearray(self.template)
        size = 4 * apogee_grid.N_PIXELS
        data[self.at_flux:self.at_flux + size] = np.asarray(flux, ">f4").tobytes()
        data[self.at_err:self.at_err + size] = np.asarray(err, ">f4").tobytes()
        Path(path).write_bytes(data)


def run_steps(work: Path, cfg: dict, n_stars: int, rng):
    """Write the inputs of each step and run it; yields (step, report)."""
    from astropy.table import Table

    sys.path.insert(0, str(Path(__file__).parent))
    from normalize_speed import synthetic_spectra  # the speed benchmark's realistic spectra

    n_shards = cfg["apogee"]["download_shards"]
    sizes = [len(shards.part(n_stars, n_shards, k)) for k in range(n_shards)]
    (work / "fits").mkdir(parents=True)
    writer = FitsWriter()
    for a in range(0, sizes[0], 1000):
        flux, err = synthetic_spectra(min(1000, sizes[0] - a), rng)
        for i in range(flux.shape[0]):
            writer.write(work / "fits" / f"aspcapStar-{a + i:06d}.fits", flux[i], err[i])

    t0 = time.perf_counter()
    report = run_child("normalize_shard", work)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    yield "normalize_shard", report

    ids = []
    for k, size in enumerate(sizes):
        d = work / "spectra" / f"shard_{k}"
        if k:  # the other shards: the first shard's normalized arrays, as many rows as they have
            d.mkdir(parents=True)
            for name in ("flux.npy", "err.npy"):
                if size == sizes[0]:
                    shutil.copyfile(work / "spectra" / "shard_0" / name, d / name)
                else:
                    np.save(d / name, np.load(work / "spectra" / "shard_0" / name, mmap_mode="r")[:size])
        star_ids = [f"2M{k:02d}{i:06d}+0000000" for i in range(size)]
        Table({"APOGEE_ID": star_ids, "TELESCOPE": np.full(size, "apo25m"), "FIELD": np.full(size, f"F{4000 + k}"),
               "spectrum_status": np.full(size, "ok")}).write(d / "stars.ecsv", overwrite=True)
        ids += [(s, f"F{4000 + k}") for s in star_ids]

    t0 = time.perf_counter()
    report = run_child("select_pixels", work)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    yield "select_pixels", report

    order = rng.permutation(len(ids))  # allStar order mixes the shards
    parent = Table({"APOGEE_ID": [ids[j][0] for j in order], "TELESCOPE": np.full(len(order), "apo25m"),
                    "FIELD": [ids[j][1] for j in order]})
    for column in features.photometry_columns():  # magnitudes, errors and fluxes, all positive
        parent[column] = rng.uniform(0.01, 14.0, len(parent))
    parent.write(work / "parent.fits")

    t0 = time.perf_counter()
    report = run_child("design_matrix", work)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    yield "design_matrix", report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-stars", type=int, default=45000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch files")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--child", choices=sorted(STEPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())

    if args.child:
        baseline = _peak_rss_mb()  # the interpreter and its libraries
        report = STEPS[args.child](args.workdir, cfg)
        report.update(peak_rss_mb=round(_peak_rss_mb(), 1), import_rss_mb=round(baseline, 1))
        print(json.dumps(report))
        return

    work = Path(tempfile.mkdtemp(prefix="normalize_memory_", dir=args.workdir))
    print(f"scratch: {work}; {args.n_stars} stars in {cfg['apogee']['download_shards']} shards, "
          f"{cfg['spectra']['shard_size']} spectra in memory at a time")
    reports = {}
    try:
        for step, report in run_steps(work, cfg, args.n_stars, np.random.default_rng(args.seed)):
            reports[step] = report
            print(f"{step}: peak RSS {report['peak_rss_mb']:.0f} MB (interpreter and libraries "
                  f"{report['import_rss_mb']:.0f} MB), {report['seconds']} s; "
                  + ", ".join(f"{k} {v}" for k, v in report.items() if k not in ("peak_rss_mb", "import_rss_mb", "seconds")))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    peaks = {step: r["peak_rss_mb"] for step, r in reports.items()}
    print(json.dumps({
        "peak_rss_mb_normalize_shard": peaks["normalize_shard"],
        "peak_rss_mb_select_pixels": peaks["select_pixels"],
        "peak_rss_mb_design_matrix": peaks["design_matrix"],
        "limit_mb": LIMIT_MB,
        "max_fraction_of_limit": round(max(peaks.values()) / LIMIT_MB, 3),
        "n_stars": args.n_stars,
        "n_shards": cfg["apogee"]["download_shards"],
        "shard_size": cfg["spectra"]["shard_size"],
        "design_matrix_shape": reports["design_matrix"]["shape"],
    }))


if __name__ == "__main__":
    main()
