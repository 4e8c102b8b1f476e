"""Rule select_pixels: the pixels with data in enough spectra across all shards (HER19 sec. 4)."""

import logging

import numpy as np
from astropy.table import Table

from spectroparallax.io import atomic
from spectroparallax.spectra import apogee_grid, normalize
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
try:
    coverage, n_read = normalize.shard_coverage(
        snakemake.input.err, [Table.read(p) for p in snakemake.input.stars], max_error=snakemake.params.max_error
    )
except ValueError as exc:
    raise SystemExit(f"select_pixels: {exc}") from exc
keep = coverage >= snakemake.params.min_coverage
pixels = Table({"pixel": np.flatnonzero(keep), "wavelength": apogee_grid.wavelength()[keep],
                "coverage": coverage[keep]})
pixels["wavelength"].unit = "Angstrom"
pixels["wavelength"].description = "vacuum rest-frame wavelength"
pixels["pixel"].description = "APOGEE apStar pixel index"
pixels["coverage"].description = "fraction of the read spectra with data in this pixel"
pixels.meta["comment"] = [f"{keep.sum()} of {keep.size} pixels have data in >= "
                          f"{snakemake.params.min_coverage:.0%} of {n_read} spectra"]
atomic.write_table(pixels, snakemake.output[0])
logging.info("%s", pixels.meta["comment"][0])
