"""Rule figure2: Gaia against spectrophotometric parallaxes, the style's panels (HER19 Fig. 2)."""

import logging

from spectroparallax.catalog import stats
from spectroparallax.figures import common, data, parallaxes
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
a = stats.catalog_arrays(cat)
panels = parallaxes.panels(a, snakemake.params.snr_min, subset=snakemake.params.high_snr_subset,
                          offset=float(cat.meta["PLXOFFST"]))
style = snakemake.params.style
fig = parallaxes.comparison(a, {key: panels[key] for key in style["panels"]}, data.labels(parent)["snr"], style)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi,
            about={"style": style})
for key, p in panels.items():
    logging.info("%s: N %d, robust fractional scatter %.4f, median bias %+.4f", key, p.n, p.scatter, p.bias)
