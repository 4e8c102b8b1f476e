"""Rule select_pixels: the pixels with data in enough spectra across all shards (HER19 sec. 4)."""

import numpy as np
from astropy.table import Table

from spectroparallax import apogee_grid, atomic, normalize

covered = np.zeros(apogee_grid.N_PIXELS)
n_read = 0
for err_path, stars_path in zip(snakemake.input.err, snakemake.input.stars):
    ok = np.asarray(Table.read(stars_path)["spectrum_status"]) == "ok"
    if ok.any():
        err = np.load(err_path, mmap_mode="r")
        covered += normalize.pixel_coverage(err, max_error=snakemake.params.max_error, rows=ok) * ok.sum()
        n_read += ok.sum()
if n_read == 0:
    raise SystemExit("select_pixels: no spectrum was read in any shard; see results/spectra/shard_*/stars.ecsv")
coverage = covered / n_read
keep = coverage >= snakemake.params.min_coverage
pixels = Table({"pixel": np.flatnonzero(keep), "wavelength": apogee_grid.wavelength()[keep],
                "coverage": coverage[keep]})
pixels["wavelength"].unit = "Angstrom"
pixels.meta["comment"] = [f"{keep.sum()} of {keep.size} pixels have data in >= "
                          f"{snakemake.params.min_coverage:.0%} of {n_read} spectra"]
atomic.write_table(pixels, snakemake.output[0])
with open(snakemake.log[0], "w") as log:
    print(pixels.meta["comment"][0], file=log)
