"""Rule cluster_members: members of each Fig. 4 cluster with both parallaxes (ECSV with units), and
each cluster's check of the quoted uncertainties (mean against the cluster's parallax, members'
scatter, width and total width, training range)."""

import logging

from spectroparallax.catalog import clusters
from spectroparallax.io import atomic
from spectroparallax.figures import data
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
members = clusters.member_table(cat, parent, snakemake.params.clusters)
atomic.write_table(members, snakemake.output.members)
check = clusters.cluster_check(members, parent, snakemake.params.clusters)
atomic.write_table(check, snakemake.output.check)
for name, info in members.meta["clusters"].items():
    logging.info("%s: %d members (cone %g deg, pm window %g mas/yr, rv window %g km/s)", name,
                 info["n_members"], info["radius"], info["pm_radius"], info["rv_window"])
for row in check:
    logging.info("%s: mean spec_parallax %.4f +- %.4f mas against %.4f (pull %.1f); members' scatter over their "
                 "errors %.2f +- %.2f (about the cluster parallax %.2f, median %+.2f, total %.2f +- %.2f); "
                 "training range: %s", row["cluster"], row["spec_parallax_mean"], row["spec_parallax_mean_err"],
                 row["cluster_parallax"], row["pull"], row["members_scatter"], row["members_scatter_err"],
                 row["members_width"], row["members_offset"], row["members_total"], row["members_total_err"],
                 row["training_range"])
