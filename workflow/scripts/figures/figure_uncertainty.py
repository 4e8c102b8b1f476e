"""Rule figure_uncertainty: normalized residuals of the training stars against a unit Gaussian."""

import logging

from astropy.table import Table

from spectroparallax.catalog import stats
from spectroparallax.figures import common, uncertainty
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
cat = Table.read(snakemake.input.catalog)
a = stats.catalog_arrays(cat)
pull = uncertainty.training_pulls(a)
width = stats.summary(cat)["normalized_residual_width"]
fig = uncertainty.normalized_residuals(pull, width, snakemake.params.style)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
logging.info("%d training stars; robust width of the normalized residuals %.4f", pull.size, width)
