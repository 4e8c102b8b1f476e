"""Rule gaia_chunk: Gaia (DR2 or DR3, params.release) x 2MASS x AllWISE rows for one chunk of the 2MASS IDs.

DR3 chunks carry the Lindegren et al. (2021) zero point per star (archives.gaia_zero_point).
"""

import logging

from astropy.table import Table

from spectroparallax.archives import gaia_query
from spectroparallax.io import shards
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
gaia = snakemake.params.query
release = snakemake.params.release
designations, _ = gaia_query.tmass_designations(Table.read(snakemake.input.allstar)["APOGEE_ID"])
ids = designations[shards.part(len(designations), snakemake.params.n_chunks, int(snakemake.wildcards.chunk))]
dest = snakemake.output[0]
logging.info("Gaia %s chunk %s: %d 2MASS designations", release.upper(), snakemake.wildcards.chunk, len(ids))
if snakemake.input.mock:
    # As astroquery reads the archive's answer: column names, not the upper-case FIELD IDs.
    table = gaia_query.select_chunk(Table.read(snakemake.input.mock, format="votable", use_names_over_ids=True), ids, origin=snakemake.input.mock,
                                    release=release)
    table = gaia_query.reduce_chunk(table, release)
    gaia_query.write_chunk(table, dest, f"-- mock survey: Gaia {release.upper()} rows of {snakemake.input.mock} "
                                        f"for {len(ids)} IDs")
else:
    gaia_query.query_chunk(ids, dest, tap_url=gaia["tap_url"], tables=gaia["tables"], release=release)
