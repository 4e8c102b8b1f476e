"""Rule cluster_members: members of each Fig. 4 cluster with both parallaxes (ECSV with units)."""

import logging

from spectroparallax.catalog import clusters
from spectroparallax.io import atomic
from spectroparallax.figures import data
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
members = clusters.member_table(cat, parent, snakemake.params.clusters)
atomic.write_table(members, snakemake.output[0])
for name, info in members.meta["clusters"].items():
    logging.info("%s: %d members (cone %g deg, pm window %g mas/yr, rv window %g km/s)", name,
                 info["n_members"], info["radius"], info["pm_radius"], info["rv_window"])
