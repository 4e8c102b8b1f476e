"""Rule published_comparison: ours against the published spectrophotometric parallaxes (figure + numbers)."""

import json
import logging

from astropy.table import Table

from spectroparallax.catalog import published, stats
from spectroparallax.io import atomic
from spectroparallax.figures import common
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
joined = Table.read(snakemake.input[0])
result = published.comparison_stats(joined)
atomic.write_text(json.dumps(stats.json_ready(result), indent=2) + "\n", snakemake.output.stats)
common.save(published.comparison_figure(joined, result, snakemake.params.plot_range),
            snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
logging.info("comparison with the published catalog: %s", json.dumps(result))
