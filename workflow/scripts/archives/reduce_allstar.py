"""Rule reduce_allstar: the allStar columns the pipeline reads, rows in the logg range."""

import logging

from spectroparallax.archives import allstar
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
table = allstar.reduce_allstar(
    snakemake.params.path, snakemake.output[0], layout=snakemake.params.layout,
    logg_min=snakemake.params.logg_min, logg_max=snakemake.params.logg_max,
)
logging.info("%d allStar rows, %d in the logg range; %d 2MASS magnitudes or errors >= 99 ([bad=99]) read as "
             "missing", table.meta["NROWSIN"], len(table), table.meta["NBAD99"][0])
