"""Rule figure5: G and distance, coloured by log10(sigma_Gaia / sigma_spec) (HER19 Fig. 5)."""

import logging

from spectroparallax.catalog import stats
from spectroparallax.figures import common, data, precision, star_cuts
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
summary = stats.summary(cat, snr_min=snakemake.params.snr_min)
lab, style = data.labels(parent), snakemake.params.style
fig = precision.precision(stats.catalog_arrays(cat), lab, summary, style)
keep, removed = star_cuts.apply(style["cuts"], lab)   # the counts the figure states, for its metadata and log
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi,
            about={"style": style, "removed": removed})
logging.info("fraction more precise than Gaia %.4f, median fractional uncertainty %.4f",
             summary["fraction_more_precise_than_gaia"], summary["median_fractional_uncertainty"])
logging.info("%d of %d stars drawn; removed by the style's cuts: %s", keep.sum(), keep.size, removed or "none")
