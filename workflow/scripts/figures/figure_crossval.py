"""Rule figure_crossval: held-out chi^2 and high-S/N scatter against lambda, chosen setting marked."""

import logging

import yaml
from astropy.table import Table

from spectroparallax.figures import common, crossval
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
best = yaml.safe_load(open(snakemake.input.best))
fig = crossval.crossval(Table.read(snakemake.input.table), best)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
logging.info("chosen lambda %g, offset %g mas", best["lambda"], best["offset"])
