"""Rule summary: the headline statistics of our catalog (what `spectroparallax summary` prints)."""

import json
import logging

from spectroparallax.catalog import published, stats
from spectroparallax.io import atomic
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
result = stats.summary(published.read_catalog(snakemake.input[0]), snr_min=snakemake.params.snr_min)
atomic.write_text(json.dumps(stats.json_ready(result), indent=2) + "\n", snakemake.output.json)
atomic.write_table(stats.summary_table(result), snakemake.output.csv)
logging.info("%s", json.dumps(result))
