"""Rule normalize_shard: read and continuum-normalize one shard's aspcapStar files."""

import logging

from astropy.table import Table

from spectroparallax.io import atomic
from spectroparallax.spectra import normalize
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
opts = snakemake.params.spectra
manifest = Table.read(snakemake.input[0])
stars = normalize.normalize_files(
    list(manifest["path"]), snakemake.output.flux, snakemake.output.err,
    shard_size=opts["shard_size"], degree=opts["chebyshev_degree"],
    max_normalized_error=opts["max_normalized_error"], bad_pixel_error=opts["bad_pixel_error"],
    min_continuum_pixels=opts["min_continuum_pixels"], grow=opts["mask_grow"],
    continuum_fit=snakemake.params.continuum_fit, masking=snakemake.params.masking,
)
# A star's row is (APOGEE_ID, TELESCOPE, FIELD) in every release (download.STAR_KEYS).
for key in ("APOGEE_ID", "TELESCOPE", "FIELD"):
    stars[key] = manifest[key]
# A file the archive did not have (404) is 'missing' whatever the reader says of its empty path; a
# row whose ID could not be a path was 'refused' (never fetched or read).
stars["spectrum_status"] = [
    m if m in ("missing", "corrupt", "refused") else s for m, s in zip(manifest["status"], stars["status"])
]
atomic.write_table(stars, snakemake.output.stars)
for status in sorted(set(stars["spectrum_status"])):
    logging.info("%s: %d", status, (stars["spectrum_status"] == status).sum())
