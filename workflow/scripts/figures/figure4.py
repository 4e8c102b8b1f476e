"""Rule figure4: cluster members' Gaia and spectrophotometric parallaxes against logg (HER19 Fig. 4)."""

import logging

from astropy.table import Table

from spectroparallax.catalog import clusters
from spectroparallax.figures import cluster_parallaxes, common
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
members = Table.read(snakemake.input.members)
config = snakemake.params.clusters
means = clusters.mean_parallaxes(members, config)
fig = cluster_parallaxes.cluster_parallaxes(members, config, means)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
for name, m in means.items():
    for key, (mean, error, n) in m.items():
        logging.info("%s %s: weighted mean %.4f +- %.4f mas from %d members (literature 1/d %.4f mas)", name, key,
                     mean, error, n, 1.0 / config[name]["distance"])
