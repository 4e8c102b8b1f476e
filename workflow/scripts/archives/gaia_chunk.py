"""Rule gaia_chunk: Gaia DR2 x 2MASS x AllWISE rows for one chunk of the 2MASS IDs."""

from astropy.table import Table

from spectroparallax.archives import gaia_query
from spectroparallax.io import shards
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
gaia = snakemake.params.query
designations, _ = gaia_query.tmass_designations(Table.read(snakemake.input.allstar)["APOGEE_ID"])
ids = designations[shards.part(len(designations), snakemake.params.n_chunks, int(snakemake.wildcards.chunk))]
dest = snakemake.output[0]
if snakemake.input.mock:
    table = gaia_query.select_chunk(Table.read(snakemake.input.mock), ids, origin=snakemake.input.mock)
    gaia_query.write_chunk(table, dest, f"-- mock survey: rows of {snakemake.input.mock} for {len(ids)} IDs")
else:
    gaia_query.query_chunk(
        ids, dest, tap_url=gaia["tap_url"], source_table=gaia["source_table"],
        tmass_best_neighbour=gaia["tmass_best_neighbour"],
        allwise_best_neighbour=gaia["allwise_best_neighbour"], allwise_table=gaia["allwise_table"])
