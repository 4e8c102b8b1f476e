"""How fast the mock simulator writes a survey, against astropy writing one aspcapStar file (issue 19).

Runs :func:`spectroparallax.mock.write_mock_survey` once at ``--n-stars`` allStar rows (config.yaml's
mock knobs and seed; spectra only for 0 < LOGG <= 2.2, as config/mock-paper-size.yaml and
benchmarks/paper_scale.py write them) into a scratch folder, and in the same run writes
``--baseline-files`` aspcapStar files the plain astropy way (:func:`mock.writers.aspcapstar_hdulist`
then ``HDUList.writeto``, the same HDUs the mock writes). Prints the simulator's CPU and wall time, its
CPU time per spectrum file, and that per-file cost as a ratio to the bare astropy write of one file
(a ratio below 1: the whole simulator, spectra made and files written, costs less per file than
astropy's write alone). CPU times are the robust figures on a shared machine.

    python benchmarks/mock_speed.py --workdir /tmp/mock_speed [--n-stars 20000]

Last line: one JSON object.
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from spectroparallax.mock import write_mock_survey, writers  # noqa: E402
from spectroparallax.mock.catalog import simulate_catalog  # noqa: E402

#: The paper-size mock writes spectra only where the sample cut can keep them (HER19's logg range).
SPECTRA_LOGG_RANGE = [0.0, 2.2]


def mock_knobs():
    """config.yaml's mock section: (release, versions, seed, physics knobs)."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    knobs = dict(cfg["mock"])
    knobs.pop("n_stars")
    seed, release = knobs.pop("seed"), knobs.pop("release")
    knobs["spectra_logg_range"] = SPECTRA_LOGG_RANGE
    return release, cfg["apogee"]["versions"][release], seed, knobs


def astropy_write(out: Path, n_files: int, release: str, apred: str) -> float:
    """CPU seconds per file of astropy writing ``n_files`` aspcapStar files (the mock's HDUs)."""
    allstar, _, _ = simulate_catalog(max(n_files, 100), 3, release=release, apred=apred)
    records = fits.table_to_hdu(writers._fits_units(allstar)).data    # the allStar rows as FITS records
    rng = np.random.default_rng(0)
    flux, err, model = rng.normal(1.0, 0.01, size=(3, 8575))
    out.mkdir(parents=True, exist_ok=True)
    t = time.process_time()
    for i in range(n_files):
        hdul = writers.aspcapstar_hdulist(str(allstar["APOGEE_ID"][i]), flux, err, model=model,
                                          record=records[i:i + 1], release=release, version="v")
        hdul.writeto(out / f"astropy_{i}.fits", overwrite=True)
    return (time.process_time() - t) / n_files


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True, help="scratch folder (emptied)")
    ap.add_argument("--n-stars", type=int, default=20000, help="allStar rows (default 20000)")
    ap.add_argument("--baseline-files", type=int, default=200, help="files astropy writes for the baseline")
    args = ap.parse_args()
    release, versions, seed, knobs = mock_knobs()
    shutil.rmtree(args.workdir, ignore_errors=True)

    per_file_astropy = astropy_write(args.workdir / "astropy", args.baseline_files, release, versions["apred"])
    wall, cpu = time.perf_counter(), time.process_time()
    paths = write_mock_survey(args.workdir / "mock", release, versions, args.n_stars, seed, **knobs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n_files = sum(1 for _ in paths["sas"].rglob("aspcapStar-*.fits"))
    per_file = cpu / max(n_files, 1)
    out = {"n_stars": args.n_stars, "release": release, "spectrum_files": n_files,
           "simulator_cpu_s": round(cpu, 1), "simulator_wall_s": round(wall, 1),
           "cpu_ms_per_file": round(1e3 * per_file, 2), "astropy_write_cpu_ms_per_file": round(1e3 * per_file_astropy, 2),
           "ratio_to_astropy_write": round(per_file / per_file_astropy, 3)}
    print(f"simulator at {args.n_stars} rows: {n_files} spectrum files, CPU {cpu:.1f} s, wall {wall:.1f} s "
          f"(shared machine); {1e3 * per_file:.2f} ms CPU per file, astropy's bare write of one file "
          f"{1e3 * per_file_astropy:.2f} ms (ratio {out['ratio_to_astropy_write']})")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
