"""Rule figure1: colour-colour diagrams of the Parent Sample and the Training Sets (HER19 Fig. 1)."""

import logging

from astropy.table import Table

from spectroparallax.figures import colours, common, data
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
lab = data.labels(Table.read(snakemake.input.parent))
fig = colours.colour_colour(lab, snakemake.params.cuts, snakemake.params.style)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi,
            about={"style": snakemake.params.style})
logging.info("Parent Sample %d stars, Training Sets %d", lab["training"].size, lab["training"].sum())
