"""Rule download_allstar: stream the allStar file from the SAS, resuming a partial transfer."""

from spectroparallax.archives import download
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
download.download_file(snakemake.params.url, snakemake.output[0])
