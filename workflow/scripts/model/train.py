"""Rule train: fit theta (eq. 3) on the training stars outside the held-out fold, from the model of
the next larger lambda, or of the previous offset (input ``start``, its setting param ``start``) when
model.cv_path (model.cv_path_offsets) chains the grid."""

import logging
import sys

import numpy as np
from astropy.table import Table

from spectroparallax.model import training
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
fold, lam, offset = snakemake.wildcards.fold, float(snakemake.wildcards.lam), float(snakemake.wildcards.offset)

parent = Table.read(snakemake.input.parent)
index = Table.read(snakemake.input.index)
X = np.load(snakemake.input.X, mmap_mode="r")
start = snakemake.input.get("start")
try:
    result = training.train_fold(snakemake.output[0], X, index, parent, fold, lam, offset,
                                 burn_in_snr=snakemake.params.burn_in_snr,
                                 high_snr_subset=snakemake.params.high_snr_subset,
                                 optimizer=snakemake.params.optimizer, l21=snakemake.params.l21,
                                 photometry_basis=snakemake.params.photometry_basis, start=start,
                                 start_setting=snakemake.params.start)
except ValueError as err:
    sys.exit(f"train: held-out fold {fold}, lambda {lam:g}, offset {offset:g} mas: {err}")
start_from = (f"{result.burn_in.n_stars} burn-in, {snakemake.params.high_snr_subset} subset" if start is None
              else f"warm start from {start}")
logging.info("held-out fold %s, lambda %g, offset %g mas: %d training stars (%s), %s optimizer, photometry as %s, "
             "objective %.6g, %d iterations, converged %s, median prediction / observed %.3f, "
             "%.1f%% of spectral coefficients zero, %.1f s", fold, lam, offset, result.n_stars,
             start_from, result.optimizer, snakemake.params.photometry_basis, result.objective,
             result.n_iter, result.converged, result.prediction_ratio, 100 * result.zero_fraction, result.time)
