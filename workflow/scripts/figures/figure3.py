"""Rule figure3: the Training Sets panel of Fig. 2 coloured by Teff, logg, [Fe/H], H-W2 (HER19 Fig. 3)."""

import logging

from spectroparallax.catalog import stats
from spectroparallax.figures import common, data, parallaxes
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
a = stats.catalog_arrays(cat)
lab = data.labels(parent)
panel = parallaxes.panels(a, snakemake.params.snr_min)["training"]
colours = {"teff": (lab["teff"], r"APOGEE $T_\mathrm{eff}$ [K]"), "logg": (lab["logg"], r"APOGEE $\log g$ [dex]"),
           "fe_h": (lab["fe_h"], "APOGEE [Fe/H] [dex]"), "h_w2": (lab["h_w2"], r"$H - W_2$ [mag]")}
fig = parallaxes.by_label(a, panel, colours, snakemake.params.style, snakemake.params.parallax)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi,
            about={"style": snakemake.params.style})
logging.info("training panel: N %d, robust fractional scatter %.4f, median bias %+.4f", panel.n, panel.scatter, panel.bias)
