"""Rule figure_uncertainty: normalized residuals of the training stars against a unit Gaussian, and
their robust width in bins of S/N, G, Teff and H - W2, before and after the calibration."""

import logging

from spectroparallax.figures import common, data, uncertainty
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
fig, info = uncertainty.uncertainty_figure(cat, parent, snakemake.params.style)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
logging.info("%d training stars; robust width of the normalized residuals %.4f%s", info["n"], info["width"],
             "" if info["width_eq5"] is None else f" (eq. 5 alone: {info['width_eq5']:.4f})")
