"""Rule figure_repeats: the coefficients of every split repeat's models overlaid, and the spread of
spec_parallax over the repeats against the quoted uncertainty per S/N bin."""

import logging

from astropy.table import Table

from spectroparallax.figures import common, repeats as repeats_figure
from spectroparallax.io.logs import job_logging
from spectroparallax.model import files as model_files

job_logging(snakemake)
common.setup(snakemake.params.font_size)
models = {}
for repeat in range(snakemake.params.n_repeats):
    for fold in snakemake.params.folds:
        path = snakemake.params.model.format(repeat=repeat, fold=fold)
        models[(repeat, fold)] = model_files.read_model(path, heldout=fold)
        logging.info("%s: %d coefficients, %d exactly zero", path, len(models[(repeat, fold)]),
                     (models[(repeat, fold)]["theta"] == 0).sum())
summary = Table.read(snakemake.input.summary)
fig = repeats_figure.repeat_coefficients(models, summary)
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
