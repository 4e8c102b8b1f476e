"""Rule figure6: Galactocentric disk map with velocity arrows coloured by [Fe/H] (HER19 Fig. 6)."""

import logging

import numpy as np

from spectroparallax.catalog import galactic, stats
from spectroparallax.figures import common, data, disk, star_cuts
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
cat, parent = data.read(snakemake.input.catalog, snakemake.input.parent)
a, lab, style = stats.catalog_arrays(cat), data.labels(parent), snakemake.params.style
frame = galactic.frame_from_config(snakemake.params.frame)
# Distance from the spectrophotometric parallax only; motions from Gaia and APOGEE.
gc = galactic.to_galactocentric(cat["ra"], cat["dec"], a["spec"], lab["pmra"], lab["pmdec"], lab["rv"], frame)
near = galactic.near_plane(gc["z"], gc["R"], style["z_max"], style["max_angle"])
kept, removed = star_cuts.apply(style["cuts"], lab, gc["vz"])   # the paper's [alpha/M], v_z, [Fe/H] cuts
use = near & kept
fig = disk.disk_map(gc, lab["fe_h"], use, galactic.sun_position(frame), style, removed)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi,
            about={"style": style, "removed": removed})
placed = np.isfinite(gc["x"])
logging.info("%d stars; %d without a position or velocity (no positive spec_parallax, proper motion or "
             "VHELIO_AVG); %d near the plane drawn; %d of them without [Fe/H] (grey)", len(cat), (~placed).sum(),
             use.sum(), (use & ~np.isfinite(lab["fe_h"])).sum())
logging.info("removed by the style's cuts (of all stars, in order): %s", removed or "none")
