"""Accuracy of the catalog against the mock survey's truth (issue: the model's acceptance).

Runs this checkout's workflow through the catalog on a mock survey big enough for the
high-S/N subset to be measured to better than a percent (default 20000 allStar rows, about 200
training stars with Gaia parallax / error >= 20; the default mock has about 36), then compares
the out-of-fold spectrophotometric parallaxes with Gaia and with the true parallaxes.

    python benchmarks/mock_accuracy.py --workdir /tmp/mock_accuracy [--n-stars 20000]

An existing run in --workdir is reused (Snakemake reruns only what changed). Takes about 15
minutes on 2 cores at the default size. The last line is one JSON object:
scatter_gaia / bias_gaia: robust fractional scatter and median of (spec - Gaia)/Gaia over the
training stars with Gaia parallax / error >= 20 (the paper's Fig. 2 subset); scatter_truth /
bias_truth: the same against the true parallax; bias_gaia_pred_selected: the median over the
stars selected on spec / Gaia error >= 20 instead (no selection on Gaia's noise);
bias_truth_training: median of spec/true - 1 over all training stars; zero_fraction at the
chosen lambda; normalized_residual_width; the chosen offset beside the mock's true zero point
and the rule that chose it (results/crossval/best.yaml).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from astropy.table import Table

from spectroparallax.catalog import stats
from spectroparallax.mock import truth as mock_truth

REPO = Path(__file__).resolve().parents[1]


def build(workdir: Path, n_stars: int, lambdas, offsets, cores: int, seed: int | None = None, *,
          mode: str = "improved", mock: dict | None = None, targets=("catalog",), overrides: dict | None = None) -> None:
    """Run the workflow on a mock of ``n_stars`` rows in ``workdir`` (Snakemake reuses what exists).

    ``mode``: the workflow's mode (default improved: the lambda grid is cross-validated; the paper
    mode fixes lambda and the offset and ignores ``lambdas``/``offsets``); ``mock``: further
    mock.* keys; ``targets``: what Snakemake builds (default the catalog only); ``overrides``: further
    config keys, dotted ("switches.photometry_basis") -> value.
    """
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["survey"] = "mock"
    cfg["mode"] = mode
    cfg["mock"]["n_stars"] = n_stars
    cfg["mock"].update(mock or {})
    if seed is not None:
        cfg["mock"]["seed"] = seed
    if lambdas:
        cfg["model"]["lambda_grid"] = lambdas
    if offsets:
        cfg["model"]["offset_grid"] = offsets
    for key, value in (overrides or {}).items():
        *parents, leaf = key.split(".")
        section = cfg
        for name in parents:
            section = section[name]
        section[leaf] = value
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "--snakefile", str(REPO / "Snakefile"),
                    "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", str(cores),
                    "--quiet", "progress"], check=True)


def measure(workdir: Path, snr_min: float = 20.0) -> dict:
    cat = Table.read(workdir / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    joined = mock_truth.with_true_parallax(cat, workdir / "resources/mock/truth.fits")
    true_offset = float(Table.read(workdir / "resources/mock/truth.fits").meta["PLX_ZP"])
    a = stats.catalog_arrays(joined)
    true = np.asarray(joined["parallax_true"], float)
    best = yaml.safe_load((workdir / "results/mock/crossval/best.yaml").read_text())
    high = a["training"] & stats.high_snr(a["gaia"], a["gaia_err"], float(best["offset"]), snr_min, "improved")
    pred = stats.high_predicted_snr(a["spec"], a["gaia_err"], a["training"], snr_min)
    summary = stats.summary(cat, snr_min=snr_min)
    scatter_gaia, bias_gaia = stats.scatter_and_bias(a["gaia"][high], a["spec"][high])
    scatter_truth, bias_truth = stats.scatter_and_bias(true[high], a["spec"][high])
    return {
        "n_parent": int(len(cat)), "n_training": int(a["training"].sum()), "n_high_snr": int(high.sum()),
        "lambda": best["lambda"], "offset": best["offset"], "true_offset": true_offset,
        "offset_rule": best.get("reason", "lowest held-out chi2"),
        "scatter_gaia": scatter_gaia, "bias_gaia": bias_gaia,
        "scatter_truth": scatter_truth, "bias_truth": bias_truth,
        "bias_gaia_pred_selected": stats.median_or_nan(stats.fractional_residuals(a["gaia"][pred], a["spec"][pred])),
        "n_pred_selected": int(pred.sum()),
        "bias_truth_training": stats.median_or_nan(a["spec"][a["training"]] / true[a["training"]] - 1),
        "zero_fraction": best["zero_fraction"],
        "normalized_residual_width": summary["normalized_residual_width"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True, help="scratch folder for the mock run (reused)")
    ap.add_argument("--n-stars", type=int, default=20000, help="allStar rows of the mock (default 20000)")
    ap.add_argument("--lambdas", type=float, nargs="+", default=[3.0, 10.0, 30.0],
                    help="lambda grid (default 3 10 30: brackets the optimum at this size)")
    ap.add_argument("--offsets", type=float, nargs="+", default=None,
                    help="offset grid [mas] (default: config.yaml's model.offset_grid)")
    ap.add_argument("--seed", type=int, default=None, help="the mock's seed (default: config.yaml's mock.seed)")
    ap.add_argument("--zero-point", type=float, default=None,
                    help="the mock's true Gaia parallax zero point [mas] (mock.parallax_zero_point; default the "
                         "config's 0.048, which is also model.reference_offset): how the offset rule does when "
                         "the reference is wrong")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--mode", choices=["improved", "paper"], default="improved",
                    help="the workflow's mode (default improved: --lambdas/--offsets are cross-validated)")
    args = ap.parse_args()
    mock = None if args.zero_point is None else {"parallax_zero_point": args.zero_point}
    build(args.workdir, args.n_stars, args.lambdas, args.offsets, args.cores, args.seed, mode=args.mode, mock=mock)
    result = measure(args.workdir)
    for key, value in result.items():
        print(f"{key:28s} {value}")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}))


if __name__ == "__main__":
    main()
