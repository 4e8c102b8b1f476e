"""Rule join_published: our catalog beside the published one, star by star (2MASS_ID)."""

import logging

from spectroparallax.catalog import published
from spectroparallax.io import atomic
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
ours = published.read_catalog(snakemake.input.ours, published.CATALOG_COLUMNS)
theirs = published.read_catalog(snakemake.input.published, published.CATALOG_COLUMNS)
joined = published.join_catalogs(ours, theirs)
atomic.write_table(joined, snakemake.output[0])
logging.info("%d of our %d stars are in the published catalog (%d stars); %d of theirs are not in ours",
             len(joined), len(ours), len(theirs), len(theirs) - len(joined))
