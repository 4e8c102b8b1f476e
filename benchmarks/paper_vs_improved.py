"""What each switch of the paper mode changes on the mock (issue 17: the README's deviation table).

Runs this checkout's workflow through the catalog on a mock survey in ``mode: paper``, then, for
every switch whose two modes differ (spectroparallax.modes.SWITCHES), a copy of that run with
that one switch set to its improved value (Snakemake reruns only what the switch changes), and
last the whole improved mode. Each run is compared with the mock's truth:

- scatter_truth / bias_truth: robust fractional scatter (half the 16-84 percentile range) and
  median of spec_parallax / true parallax - 1 over the training stars with a prediction;
- chi_width_truth: robust width of (spec_parallax - true) / spec_parallax_err over the same
  stars (1 if the quoted uncertainties are right; eq. 5);
- n_pixels: spectral pixels kept (results/mock/spectra/pixels.ecsv); n_training: training stars;
- lambda, offset: the setting the catalog was made with.

    python benchmarks/paper_vs_improved.py --workdir /tmp/paper_vs_improved [--n-stars 4000] [--cores 2]
        [--release dr17 --only quality_cut,zero_point]

``--release`` writes the mock in that APOGEE release's formats (mock.release; dr16/dr17 bring Gaia
DR3, where the DR3-only switches quality_cut and zero_point act); ``--only`` toggles just the
named switches (the last run is still the whole improved mode).

It prints a Markdown table (one row per run) and, as its last line, one JSON object
{"runs": {name: figures}, "n_stars": ..., "seed": ...}. Existing runs in --workdir are reused.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from astropy.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from spectroparallax import modes  # noqa: E402
from spectroparallax.catalog import stats  # noqa: E402
from spectroparallax.mock import truth as mock_truth  # noqa: E402

RESULTS = "results/mock"


def _config(n_stars: int, seed: int, mode: str, switches: dict, release: str = "dr14") -> dict:
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["survey"] = "mock"
    cfg["mode"] = mode
    cfg["switches"] = {name: switches.get(name) for name in cfg["switches"]}
    cfg["mock"]["n_stars"] = n_stars
    cfg["mock"]["seed"] = seed
    cfg["mock"]["release"] = release
    return cfg


def _copy_run(src: Path, dest: Path) -> None:
    """Hard-link copy of a finished run (rules replace files by renaming, so src stays intact)."""
    for name in ("results", "resources", "logs", "benchmarks"):
        if (src / name).exists():
            shutil.copytree(src / name, dest / name, copy_function=os.link)
    shutil.copytree(src / ".snakemake", dest / ".snakemake", ignore=shutil.ignore_patterns("log", "locks"))


def run(workdir: Path, cfg: dict, cores: int, base: Path | None = None) -> None:
    if (workdir / RESULTS / "catalog/spectrophotometric_parallaxes.fits").exists():
        pass   # reuse; Snakemake below reruns only what a changed config needs
    elif base is not None:
        workdir.mkdir(parents=True)
        _copy_run(base, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    subprocess.run([sys.executable, "-m", "snakemake", "catalog", "--snakefile", str(REPO / "Snakefile"),
                    "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", str(cores),
                    "--quiet", "progress"], check=True)


def measure(workdir: Path) -> dict:
    cat = Table.read(workdir / RESULTS / "catalog/spectrophotometric_parallaxes.fits")
    joined = mock_truth.with_true_parallax(cat, workdir / "resources/mock/truth.fits")
    a = stats.catalog_arrays(joined)
    true = np.asarray(joined["parallax_true"], float)
    use = a["training"] & np.isfinite(a["spec"]) & np.isfinite(a["spec_err"])
    ratio = a["spec"][use] / true[use] - 1
    chi = (a["spec"][use] - true[use]) / a["spec_err"][use]
    parent = Table.read(workdir / RESULTS / "samples/parent.fits")
    pixels = Table.read(workdir / RESULTS / "spectra/pixels.ecsv")
    return {"scatter_truth": stats.robust_scatter(ratio), "bias_truth": stats.median_or_nan(ratio),
            "chi_width_truth": stats.robust_scatter(chi), "n_pixels": int(len(pixels)),
            "n_training": int(np.asarray(parent["training"], bool).sum()),
            "lambda": float(cat.meta["LAMBDA"]), "offset": float(cat.meta["PLXOFFST"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--n-stars", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--release", default="dr14", help="mock.release: dr14 (Gaia DR2), dr16 or dr17 (Gaia DR3)")
    parser.add_argument("--only", default="", help="comma-separated switches to toggle (default: every one)")
    args = parser.parse_args(argv)

    paper = modes.resolve("paper")
    improved = modes.resolve("improved")
    toggles = {name: improved[name] for name in modes.SWITCHES if paper[name] != improved[name]}
    toggles["optimizer"] = next(v for v in modes.SWITCHES["optimizer"].choices if v != paper["optimizer"])
    if args.only:
        names = args.only.split(",")
        unknown = sorted(set(names) - set(toggles))
        if unknown:
            parser.error(f"--only: {', '.join(unknown)} not among the switches the modes set differently: "
                         f"{', '.join(toggles)}")
        toggles = {name: toggles[name] for name in names}

    base = args.workdir / "paper"
    run(base, _config(args.n_stars, args.seed, "paper", {}, args.release), args.cores)
    results = {"paper": measure(base)}
    for name, value in toggles.items():
        work = args.workdir / f"{name}={value}"
        run(work, _config(args.n_stars, args.seed, "paper", {name: value}, args.release), args.cores, base=base)
        results[f"{name}={value}"] = measure(work)
    work = args.workdir / "improved"
    run(work, _config(args.n_stars, args.seed, "improved", {}, args.release), args.cores, base=base)
    results["improved"] = measure(work)

    columns = ("scatter_truth", "bias_truth", "chi_width_truth", "n_pixels", "n_training", "lambda", "offset")
    print("| run | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, figures in results.items():
        print(f"| {name} | " + " | ".join(f"{figures[c]:.4g}" for c in columns) + " |")
    print(json.dumps({"runs": results, "n_stars": args.n_stars, "seed": args.seed, "release": args.release}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
