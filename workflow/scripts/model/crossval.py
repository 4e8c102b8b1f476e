"""Rule crossval: held-out chi^2, deviance and high-S/N scatter for every (lambda, offset); pick the best."""

import logging
import sys

import numpy as np
import yaml
from astropy.table import Table

from spectroparallax import model
from spectroparallax.io import atomic
from spectroparallax.model import crossval, files as model_files
from spectroparallax.archives.columns import as_float, fit_parallax
from spectroparallax.io.errors import InputFileError
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
parent = Table.read(snakemake.input.parent)
X = np.load(snakemake.input.X, mmap_mode="r")
X_err = np.load(snakemake.input.X_err, mmap_mode="r")
parallax = fit_parallax(parent, snakemake.params.l21)   # DR3 in the improved mode: minus the L21 zero point
error = as_float(parent["parallax_error"])

models = iter(snakemake.input.models)   # ordered as SETTINGS x FOLDS in common.smk
training = np.asarray(parent["training"], bool)
score = crossval.SCORES[snakemake.params.cv_score]
rows, terms = [], []
for lam, offset in snakemake.params.settings:
    try:
        fits = model_files.read_heldout_models({fold: next(models) for fold in snakemake.params.folds},
                                               lam, offset, training, parent["fold"])
    except InputFileError as err:
        sys.exit(f"crossval: {err}")
    thetas = {fold: np.asarray(fit["theta"]) for fold, fit in fits.items()}
    spec, _ = crossval.out_of_fold(parent["fold"], thetas, X, X_err, model.predict)
    stats = crossval.summarize(parallax + offset, error, spec, training, snakemake.params.snr_min, offset=offset,
                               subset=snakemake.params.high_snr_subset)
    terms.append(crossval.score_terms(score, parallax + offset, error, spec, stats["epsilon"])[training])
    rows.append({"lambda": lam, "offset": offset, **stats, **crossval.fit_figures([fit.meta for fit in fits.values()])})
table = Table(rows=rows)
choice = crossval.choose_setting(table, np.array(terms), snakemake.params.reference_offset,
                                 tolerance=snakemake.params.reference_offset_tolerance,
                                 fixed=snakemake.params.hyperparameters == "paper", score=score)
crossval.record_choice(table, choice)
best, lowest = table[choice.row], table[choice.lowest]
atomic.write_table(table, snakemake.output.table)
atomic.write_text(yaml.safe_dump({"lambda": float(best["lambda"]), "offset": float(best["offset"]),
                                  "score": score, "chi2": float(best["chi2"]),
                                  "deviance": float(best["deviance"]), "scatter_high_snr": float(best["scatter_high_snr"]),
                                  "bias_high_snr": float(best["bias_high_snr"]),
                                  "zero_fraction": float(best["zero_fraction"]),
                                  "small_fraction": float(best["small_fraction"]),
                                  "reason": choice.reason,
                                  "lowest": {"lambda": float(lowest["lambda"]), "offset": float(lowest["offset"]),
                                             score: float(lowest[score])}}, sort_keys=False),
                  snakemake.output.best)
logging.info("choice: %s", choice.reason)
if (warning := crossval.grid_edge_warning(table, choice.row)):
    logging.warning("WARNING: %s", warning)
    print(f"crossval: {warning}", file=sys.stderr)
logging.info("%s\nchosen: lambda %g, offset %g mas; %.1f%% of spectral coefficients exactly zero, %.1f%% below "
             "1e-4 in size (mean over folds)", "\n".join(table.pformat(max_width=-1)), best["lambda"], best["offset"],
             100 * best["zero_fraction"], 100 * best["small_fraction"])
