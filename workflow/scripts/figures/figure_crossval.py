"""Rule figure_crossval: held-out chi^2 and high-S/N scatter against lambda, chosen setting marked;
the cross-validation table rounded for the report, and the grid-edge note the report shows."""

import csv
import io
import logging

import yaml
from astropy.table import Table

from spectroparallax.figures import common, crossval
from spectroparallax.io import atomic
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
best = yaml.safe_load(open(snakemake.input.best))
table = Table.read(snakemake.input.table)
fig = crossval.crossval(table, best)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
text = io.StringIO()
csv.writer(text, lineterminator="\n").writerows(crossval.display_table(table))
atomic.write_text(text.getvalue(), snakemake.output.table)
warning = crossval.edge_warning(table, best)
atomic.write_text(f"**Warning:** {warning}.\n" if warning else
                  "The chosen lambda lies inside the grid of ``model.lambda_grid``.\n", snakemake.output.note)
logging.info("chosen lambda %g, offset %g mas", best["lambda"], best["offset"])
if warning:
    logging.warning("WARNING: %s", warning)
