"""Rule figure_model: coefficients of the two models at the chosen (lambda, offset)."""

import logging

import yaml

from spectroparallax.model import files as model_files
from spectroparallax.figures import coefficients, common
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
common.setup(snakemake.params.font_size)
best = yaml.safe_load(open(snakemake.input.best))
models = {}
for fold in snakemake.params.folds:
    path = snakemake.params.model.format(fold=fold, lam=best["lambda"], offset=best["offset"])
    table = model_files.read_model(path)
    models[f"model holding out fold {fold}"] = table
    logging.info("%s: %d coefficients, %d exactly zero", path, len(table), (table["theta"] == 0).sum())
fig = coefficients.coefficients(
    models, f"chosen setting: $\\lambda$ = {best['lambda']:g}, parallax offset {best['offset']:g} mas")
common.save(fig, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)
