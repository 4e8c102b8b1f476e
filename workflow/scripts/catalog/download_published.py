"""Rule download_published: fetch the paper's catalog (resumable, retried, MD5-checked, atomic)."""

import logging

from spectroparallax.catalog import published
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
path = published.download_published(snakemake.params.url, snakemake.output[0], md5=snakemake.params.md5,
                                    size=snakemake.params.size)
logging.info("downloaded %s to %s (%d bytes)", snakemake.params.url, path, path.stat().st_size)
