"""Rule design_matrix: feature vectors of eq. 11 for the Parent Sample, with their errors."""

import logging

import numpy as np
from astropy.table import Table

from spectroparallax.io import atomic
from spectroparallax.sample import features
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
parent = Table.read(snakemake.input.parent)
pixels = Table.read(snakemake.input.pixels)
shard_stars = [Table.read(p) for p in snakemake.input.stars]
shard_files = list(zip(snakemake.input.flux, snakemake.input.err, strict=True))

shape = features.write_design_matrix(
    parent, shard_stars, shard_files, np.asarray(pixels["pixel"]), snakemake.output.X, snakemake.output.X_err,
    clip=snakemake.params.clip, ln_err_max=snakemake.params.ln_err_max,
    ln_flux_errors=snakemake.params.ln_flux_errors, magnitude_errors=snakemake.params.magnitude_errors,
)
atomic.write_table(features.feature_index(np.asarray(pixels["pixel"]), np.asarray(pixels["wavelength"])),
                   snakemake.output.index)
logging.info("design matrix: %d stars x %d features", shape[0], shape[1])
