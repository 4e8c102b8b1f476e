"""Rule figure_uncertainty: normalized residuals of the training stars against a unit Gaussian."""

import logging

import numpy as np
from astropy.table import Table

from spectroparallax import stats
from spectroparallax.figures import common, uncertainty

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
common.setup(snakemake.params.font_size)
cat = Table.read(snakemake.input.catalog)
a = stats.catalog_arrays(cat)
train = a["training"] & np.isfinite(a["spec"]) & np.isfinite(a["gaia"])   # the stars of stats.summary's width
pull = stats.normalized_residuals(a["gaia"][train], a["gaia_err"][train], a["spec"][train], a["spec_err"][train])
width = stats.summary(cat)["normalized_residual_width"]
fig = uncertainty.normalized_residuals(pull, width, snakemake.params.style)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
logging.info("%d training stars; robust width of the normalized residuals %.4f", pull.size, width)
