"""Rule download_published: fetch the paper's catalog (resumable, retried, MD5-checked, atomic)."""

import logging
import sys

from spectroparallax.catalog import published
from spectroparallax.io.errors import ArchiveError
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
try:
    path = published.download_published(snakemake.params.url, snakemake.output[0], md5=snakemake.params.md5,
                                        size=snakemake.params.size)
except ArchiveError as err:
    print(err, file=sys.stderr)
    sys.exit(1)
logging.info("downloaded %s to %s (%d bytes)", snakemake.params.url, path, path.stat().st_size)
