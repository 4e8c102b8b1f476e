"""Rule select_pixels: the pixels kept for the design matrix (HER19 sec. 4).

pixel_set improved: the pixels with data in enough spectra across all shards; paper: every pixel
whose normalized flux is not 1 in every Parent Sample star (infer_parallax.py @ 7e102f0).
"""

import logging

import numpy as np
from astropy.table import Table

from spectroparallax.io import atomic
from spectroparallax.sample import features
from spectroparallax.spectra import apogee_grid, normalize
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
shard_stars = [Table.read(p) for p in snakemake.input.stars]
if snakemake.params.pixel_set == "paper":
    parent = Table.read(snakemake.input.parent)
    try:
        shard_of, row_of = features.locate_spectra(parent, shard_stars)
        coverage, n_read = normalize.not_unit_fraction(
            snakemake.input.flux, [row_of[shard_of == k] for k in range(len(snakemake.input.flux))])
    except ValueError as exc:
        raise SystemExit(f"select_pixels: {snakemake.input.parent}: {exc}") from exc
    keep = normalize.select_pixels_paper(coverage)
    what = "fraction of the Parent Sample stars whose normalized flux is not exactly 1 here"
    comment = (f"{keep.sum()} of {keep.size} pixels have a normalized flux other than 1 in at least one of "
               f"{n_read} Parent Sample stars (the paper's rule)")
else:
    try:
        coverage, n_read = normalize.shard_coverage(
            snakemake.input.err, shard_stars, max_error=snakemake.params.max_error
        )
    except ValueError as exc:
        raise SystemExit(f"select_pixels: {exc}") from exc
    keep = coverage >= snakemake.params.min_coverage
    what = "fraction of the read spectra with data in this pixel"
    comment = (f"{keep.sum()} of {keep.size} pixels have data in >= "
               f"{snakemake.params.min_coverage:.0%} of {n_read} spectra")
pixels = Table({"pixel": np.flatnonzero(keep), "wavelength": apogee_grid.wavelength()[keep],
                "coverage": coverage[keep]})
pixels["wavelength"].unit = "Angstrom"
pixels["wavelength"].description = "vacuum rest-frame wavelength"
pixels["pixel"].description = "APOGEE apStar pixel index"
pixels["coverage"].description = what
pixels.meta["comment"] = [comment]
atomic.write_table(pixels, snakemake.output[0])
logging.info("%s", pixels.meta["comment"][0])
