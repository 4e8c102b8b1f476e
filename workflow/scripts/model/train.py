"""Rule train: fit theta (eq. 3) on the training stars outside the held-out fold."""

import logging
import sys

import numpy as np
from astropy.table import Table

from spectroparallax import model
from spectroparallax.model import files as model_files
from spectroparallax.sample import folds
from spectroparallax.archives.columns import as_float
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
fold, lam, offset = snakemake.wildcards.fold, float(snakemake.wildcards.lam), float(snakemake.wildcards.offset)

parent = Table.read(snakemake.input.parent)
index = Table.read(snakemake.input.index)
X = np.load(snakemake.input.X, mmap_mode="r")
rows = folds.training_rows(parent["training"], parent["fold"], fold)
y = as_float(parent["parallax"])[rows] + offset          # Gaia parallax plus the offset [mas]
ivar = 1.0 / as_float(parent["parallax_error"])[rows] ** 2
try:
    result = model.fit(np.asarray(X[rows]), y, ivar, np.asarray(index["penalized"], bool), lam,
                       burn_in_snr=snakemake.params.burn_in_snr)
    model_files.write_model(snakemake.output[0], result.theta, index, result,
                            heldout=fold, lam=lam, offset=offset, ntrain=len(rows))
except ValueError as err:
    sys.exit(f"train: held-out fold {fold}, lambda {lam:g}, offset {offset:g} mas: {err}")
logging.info("held-out fold %s, lambda %g, offset %g mas: %d training stars, objective %.6g, %d iterations, "
             "converged %s, %.1f%% of spectral coefficients zero, %.1f s", fold, lam, offset, len(rows),
             result.objective, result.n_iter, result.converged, 100 * result.zero_fraction, result.time)
