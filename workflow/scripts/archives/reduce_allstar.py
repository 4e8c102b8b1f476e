"""Rule reduce_allstar: the allStar columns the pipeline reads, rows in the logg range."""

from spectroparallax.archives import allstar

table = allstar.reduce_allstar(
    snakemake.params.path, snakemake.output[0],
    logg_min=snakemake.params.logg_min, logg_max=snakemake.params.logg_max,
)
with open(snakemake.log[0], "w") as log:
    print(f"{table.meta['NROWSIN']} allStar rows, {len(table)} in the logg range", file=log)
