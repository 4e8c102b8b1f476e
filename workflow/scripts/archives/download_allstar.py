"""Rule download_allstar: stream the allStar file from the SAS, resuming a partial transfer."""

import sys

from spectroparallax.archives import download
from spectroparallax.io.errors import ArchiveError
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
try:
    download.download_file(snakemake.params.url, snakemake.output[0])
except ArchiveError as err:
    print(err, file=sys.stderr)
    sys.exit(1)
