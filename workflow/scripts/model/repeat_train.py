"""Rule repeat_train: fit theta (eq. 3) for one held-out fold of split repeat r, at the chosen setting."""

import logging
import sys

import numpy as np
import yaml
from astropy.table import Table

from spectroparallax.io.logs import job_logging
from spectroparallax.model import repeats, training

job_logging(snakemake)
repeat, fold = int(snakemake.wildcards.repeat), snakemake.wildcards.fold
best = yaml.safe_load(open(snakemake.input.best))
lam, offset = float(best["lambda"]), float(best["offset"])
seed = repeats.repeat_seed(snakemake.params.split_seed, repeat)

parent = Table.read(snakemake.input.parent)
index = Table.read(snakemake.input.index)
X = np.load(snakemake.input.X, mmap_mode="r")
try:
    labels = repeats.repeat_labels(parent["APOGEE_ID"], snakemake.params.n_folds, snakemake.params.split_seed, repeat)
    result = training.train_fold(snakemake.output[0], X, index, repeats.with_folds(parent, labels), fold, lam, offset,
                                 burn_in_snr=snakemake.params.burn_in_snr,
                                 high_snr_subset=snakemake.params.high_snr_subset,
                                 optimizer=snakemake.params.optimizer, l21=snakemake.params.l21,
                                 photometry_basis=snakemake.params.photometry_basis, repeat=repeat, rseed=seed)
except ValueError as err:   # an empty fold, no burn-in stars (non-convergence raises its own line)
    sys.exit(f"repeat_train: repeat {repeat}, held-out fold {fold}, lambda {lam:g}, offset {offset:g} mas: {err}")
logging.info("repeat %d (fold seed %s), held-out fold %s, lambda %g, offset %g mas (%s): %d training stars, "
             "objective %.6g, %d iterations, converged %s, %.1f%% of spectral coefficients zero, %.1f s", repeat, seed,
             fold, lam, offset, snakemake.input.best, result.n_stars, result.objective, result.n_iter, result.converged,
             100 * result.zero_fraction, result.time)
