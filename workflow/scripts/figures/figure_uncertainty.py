"""Rule figure_uncertainty: normalized residuals of the training stars against a unit Gaussian, and
their robust width in bins of S/N, G, Teff and H - W2, before and after the calibration."""

import logging

import numpy as np

from spectroparallax.catalog import stats
from spectroparallax.figures import common, data, uncertainty
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
a = stats.catalog_arrays(cat)
pull = uncertainty.training_pulls(a)
# A calibrated catalog (switches.uncertainties improved) keeps eq. 5's value beside it.
before = (uncertainty.training_pulls(a, np.ma.filled(np.ma.asarray(cat["spec_parallax_err_eq5"], dtype=float), np.nan))
          if "spec_parallax_err_eq5" in cat.colnames else None)
width = stats.summary(cat)["normalized_residual_width"]
fig = uncertainty.calibration(pull, width, snakemake.params.style, data.labels(parent), uncertainty.training_rows(a),
                              before=before)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
logging.info("%d training stars; robust width of the normalized residuals %.4f%s", pull.size, width,
             "" if before is None else f" (eq. 5 alone: {stats.robust_scatter(before):.4f})")
