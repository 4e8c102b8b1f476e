"""Rule aspcapstar_shard: fetch (or find in a local SAS tree) one shard's aspcapStar files."""

import sys

from astropy.table import Table

from spectroparallax.archives import download
from spectroparallax.io import atomic, shards
from spectroparallax.io.errors import ArchiveError

apogee = snakemake.params.layout
stars = Table.read(snakemake.input.allstar)
rows = stars[shards.part(len(stars), snakemake.params.n_shards, int(snakemake.wildcards.shard))]
ids, locations = rows["APOGEE_ID"], rows["LOCATION_ID"]
try:
    if snakemake.params.local:
        manifest = download.resolve_local(
            download.aspcapstar_relpaths(apogee, ids, locations), snakemake.params.root)
    else:
        manifest = download.download_files(
            download.aspcapstar_jobs(apogee, ids, locations, snakemake.params.sas_url, snakemake.params.root),
            threads=snakemake.threads)
except ArchiveError as err:
    print(err, file=sys.stderr)
    sys.exit(1)
manifest["LOCATION_ID"] = locations
atomic.write_table(manifest, snakemake.output[0])
with open(snakemake.log[0], "w") as log:
    for status in sorted(set(manifest["status"])):
        print(f"{status}: {(manifest['status'] == status).sum()}", file=log)
