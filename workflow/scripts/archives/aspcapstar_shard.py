"""Rule aspcapstar_shard: fetch (or find in a local SAS tree) one shard's aspcapStar files."""

import logging
import sys

from astropy.table import Table

from spectroparallax.archives import download
from spectroparallax.io import atomic, shards
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
layout = snakemake.params.layout
stars = Table.read(snakemake.input.allstar)
rows = stars[shards.part(len(stars), snakemake.params.n_shards, int(snakemake.wildcards.shard))]
if snakemake.params.local:
    manifest = download.resolve_local(
        download.aspcapstar_relpaths(layout, rows), snakemake.params.root,
        checksums=download.aspcapstar_checksums(layout, rows))
else:
    manifest = download.download_files(
        download.aspcapstar_jobs(layout, rows, snakemake.params.sas_url, snakemake.params.root),
        threads=snakemake.threads,
        checksums=download.aspcapstar_checksums(layout, rows, snakemake.params.sas_url, snakemake.params.root))
for key in download.STAR_KEYS[1:]:   # the manifest has APOGEE_ID; a star's row is (APOGEE_ID, TELESCOPE, FIELD)
    manifest[key] = rows[key]
atomic.write_table(manifest, snakemake.output[0])
for status in sorted(set(manifest["status"])):
    logging.info("%s: %d", status, (manifest["status"] == status).sum())
# Say what a missing, corrupt or refused file means, on the console and (job_logging copies
# stderr) in the log; for a corrupt file the archive reader has just warned with its name: the
# star is counted, the run goes on.
n_missing = int((manifest["status"] == download.MISSING).sum())
n_corrupt = int((manifest["status"] == download.CORRUPT).sum())
n_refused = int((manifest["status"] == download.REFUSED).sum())
if n_missing or n_corrupt or n_refused:
    print(f"aspcapstar_shard: shard {snakemake.wildcards.shard}: {n_corrupt} spectrum file(s) unreadable, "
          f"{n_missing} missing, {n_refused} refused (no SAS path: reasons in {snakemake.output[0]}); counted "
          "in the cut-flow as 'no readable spectrum' and the run goes on (on the mock survey by design: it "
          "writes one truncated and a few missing files on purpose)",
          file=sys.stderr)
