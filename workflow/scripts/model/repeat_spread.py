"""Rule repeat_spread: every star predicted in each split repeat by the repeat model that held its fold
out; the per-star spread over the repeats and its summary against the quoted eq. 5 uncertainty."""

import logging
import sys

import numpy as np
import yaml
from astropy.table import Table

from spectroparallax import model
from spectroparallax.io import atomic
from spectroparallax.io.errors import InputFileError
from spectroparallax.io.logs import job_logging
from spectroparallax.model import files as model_files, repeats

job_logging(snakemake)
best = yaml.safe_load(open(snakemake.input.best))
lam, offset = float(best["lambda"]), float(best["offset"])
parent = Table.read(snakemake.input.parent)
catalog = Table.read(snakemake.input.catalog)
X = np.load(snakemake.input.X, mmap_mode="r")
X_err = np.load(snakemake.input.X_err, mmap_mode="r")

labels, spec = [], []
try:
    for repeat in range(snakemake.params.n_repeats):
        seed = repeats.repeat_seed(snakemake.params.split_seed, repeat)
        folds = repeats.repeat_labels(parent["APOGEE_ID"], snakemake.params.n_folds, snakemake.params.split_seed, repeat)
        paths = {fold: snakemake.params.model.format(repeat=repeat, fold=fold) for fold in snakemake.params.folds}
        fits = model_files.read_heldout_models(paths, lam, offset, parent["training"], folds)
        for fold, fit in fits.items():
            repeats.check_repeat_model(fit, paths[fold], repeat, seed)
        prediction, _ = repeats.predict_repeat(folds, {f: np.asarray(m["theta"]) for f, m in fits.items()}, X, X_err,
                                               model.predict)
        labels.append(folds)
        spec.append(prediction)
    table = repeats.spread_table(parent, catalog, labels, spec, lam, offset, catalog_path=snakemake.input.catalog)
except InputFileError as err:
    sys.exit(f"repeat_spread: {err}")
summary = repeats.spread_summary(table)
atomic.write_table(table, snakemake.output.spread)
atomic.write_table(summary, snakemake.output.summary)
logging.info("%d repeats at lambda %g, offset %g mas (%s); spread over repeats against the quoted eq. 5 error:\n%s",
             snakemake.params.n_repeats, lam, offset, snakemake.input.best, "\n".join(summary.pformat(max_width=-1)))
