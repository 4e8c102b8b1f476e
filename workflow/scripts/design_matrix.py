"""Rule design_matrix: feature vectors of eq. 11 for the Parent Sample, with their errors."""

import numpy as np
from astropy.table import Table

from spectroparallax import atomic, features

parent = Table.read(snakemake.input.parent)
pixels = Table.read(snakemake.input.pixels)
shard_stars = [Table.read(p) for p in snakemake.input.stars]


def load(k):
    return np.load(snakemake.input.flux[k], mmap_mode="r"), np.load(snakemake.input.err[k], mmap_mode="r")


flux, err = features.gather_spectra(parent, shard_stars, load, np.asarray(pixels["pixel"]))
X, X_err = features.design_matrix(parent, flux, err, clip=snakemake.params.clip,
                                  ln_err_max=snakemake.params.ln_err_max)
for array, path in ((X, snakemake.output.X), (X_err, snakemake.output.X_err)):
    with atomic.atomic_path(path) as tmp:
        np.save(tmp, array)
atomic.write_table(features.feature_index(np.asarray(pixels["pixel"]), np.asarray(pixels["wavelength"])),
                   snakemake.output.index)
with open(snakemake.log[0], "w") as log:
    print(f"design matrix: {X.shape[0]} stars x {X.shape[1]} features", file=log)
