"""How each cross-validation score tells the offsets apart, on a finished mock run (issue 20).

Rescores the saved held-out models of a finished run (its results/mock/models, crossval.csv,
parent.fits, X.npy) under both scores of ``switches.cv_score``, with the same functions the
crossval rule uses (spectroparallax.model.crossval):

* chi2: eq. 2 over the held-out training stars, Gaia's errors alone (the paper mode's score);
* deviance: -2 ln of the Gaussian predictive likelihood with variance sigma_Gaia^2 + (epsilon spec)^2,
  epsilon fitted per setting on the same stars (the improved mode's).

For each score it prints every setting's difference from the lowest, its paired standard error,
their ratio, the robust scatter and median of spec / true - 1 over the training stars (the mock's
truth, so which setting was right can be seen), and the setting that score chooses with model.reference_offset and
model.reference_offset_tolerance as given; with the mock's true zero point beside it
(the PLX_ZP of resources/mock/truth.fits). No training is rerun: the models are the
run's own, so the two scores are compared on identical predictions.

    python benchmarks/cv_scores.py --workdir /tmp/unc22/improved_seed2027 [--reference-offset 0.048]
        [--tolerance 1]

Measured (2026-12-07, the runs README "Accuracy on the mock survey" lists): see there. The last line
is one JSON object.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from spectroparallax import model  # noqa: E402
from spectroparallax.archives.columns import as_float, fit_parallax  # noqa: E402
from spectroparallax.catalog import stats as catalog_stats  # noqa: E402
from spectroparallax.mock import truth as mock_truth  # noqa: E402
from spectroparallax.model import crossval, files as model_files  # noqa: E402

RESULTS = "results/mock"


def _true_offset(truth_path: Path):
    """The mock's DR2 zero point [mas] from the truth file's header (PLX_ZP; "per star" for DR3)."""
    value = fits.getheader(truth_path, 1).get("PLX_ZP")
    return float(value) if isinstance(value, (int, float)) else value


def _true_parallax(truth_path: Path, parent) -> np.ndarray:
    """The mock's true parallax [mas] of every Parent Sample row (NaN where the truth has none)."""
    rows = Table({"2MASS_ID": np.char.strip(np.asarray(parent["APOGEE_ID"], str)), "row": np.arange(len(parent))})
    joined = mock_truth.with_true_parallax(rows, truth_path)
    true = np.full(len(parent), np.nan)
    true[np.asarray(joined["row"])] = np.asarray(joined["parallax_true"], float)
    return true


def rescore(workdir: Path, reference_offset, tolerance: float) -> dict:
    results = workdir / RESULTS
    parent = Table.read(results / "samples/parent.fits")
    X = np.load(results / "features/X.npy", mmap_mode="r")
    X_err = np.load(results / "features/X_err.npy", mmap_mode="r")
    parallax, error = fit_parallax(parent, False), as_float(parent["parallax_error"])
    training = np.asarray(parent["training"], bool)
    folds = sorted(set(np.asarray(parent["fold"], str)))
    truth_path = workdir / "resources/mock/truth.fits"
    true = _true_parallax(truth_path, parent)
    rows, terms = [], {"chi2": [], "deviance": []}
    for setting in Table.read(results / "crossval/crossval.csv"):
        lam, offset = float(setting["lambda"]), float(setting["offset"])
        paths = {fold: results / f"models/heldout_{fold}/lambda_{lam}_offset_{offset}.fits" for fold in folds}
        fitted = model_files.read_heldout_models(paths, lam, offset, training, parent["fold"])
        thetas = {fold: np.asarray(fit["theta"]) for fold, fit in fitted.items()}
        spec, _ = crossval.out_of_fold(parent["fold"], thetas, X, X_err, model.predict)
        stats = crossval.summarize(parallax + offset, error, spec, training, 20.0, offset=offset)
        for score in terms:
            terms[score].append(crossval.score_terms(score, parallax + offset, error, spec, stats["epsilon"])[training])
        ratio = (spec / true - 1)[training & np.isfinite(spec) & np.isfinite(true)]
        rows.append({"lambda": lam, "offset": offset, "chi2": stats["chi2"], "deviance": stats["deviance"],
                     "epsilon": stats["epsilon"], "scatter_truth": catalog_stats.robust_scatter(ratio),
                     "bias_truth": catalog_stats.median_or_nan(ratio)})
    table = Table(rows=rows)
    out = {"workdir": str(workdir), "n_training": int(training.sum()), "true_offset": _true_offset(truth_path),
           "reference_offset": reference_offset, "tolerance": tolerance}
    for score in ("chi2", "deviance"):
        choice = crossval.choose_setting(table, np.array(terms[score]), reference_offset, tolerance=tolerance,
                                         score=score)
        out[score] = {"chosen": [float(table["lambda"][choice.row]), float(table["offset"][choice.row])],
                      "lowest": [float(table["lambda"][choice.lowest]), float(table["offset"][choice.lowest])],
                      "reason": choice.reason,
                      "settings": [{"lambda": float(r["lambda"]), "offset": float(r["offset"]),
                                    "delta": round(float(d), 2), "se": round(float(s), 2),
                                    "ratio": round(float(d / s), 2) if s > 0 else 0.0,
                                    "epsilon": round(float(r["epsilon"]), 4),
                                    "scatter_truth": round(float(r["scatter_truth"]), 4),
                                    "bias_truth": round(float(r["bias_truth"]), 4)}
                                   for r, d, s in zip(table, choice.delta, choice.delta_se)]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True, help="a finished mock run (its results/mock)")
    ap.add_argument("--reference-offset", type=float, default=0.048)
    ap.add_argument("--tolerance", type=float, default=1.0)
    args = ap.parse_args()
    out = rescore(args.workdir, args.reference_offset, args.tolerance)
    print(f"{args.workdir}: {out['n_training']} training stars, true offset {out['true_offset']}")
    for score in ("chi2", "deviance"):
        print(f"{score}: chooses lambda {out[score]['chosen'][0]:g}, offset {out[score]['chosen'][1]:g} mas "
              f"({out[score]['reason']})")
        for s in out[score]["settings"]:
            print(f"  lambda {s['lambda']:g} offset {s['offset']:g}: delta {s['delta']:.1f} +- {s['se']:.1f} "
                  f"({s['ratio']:.2f} SE), epsilon {s['epsilon']:.4f}; against the truth over the training "
                  f"stars: scatter {s['scatter_truth']:.4f}, bias {s['bias_truth']:+.4f}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
