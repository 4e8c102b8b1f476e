"""Rule catalog: the out-of-fold spectrophotometric parallaxes at the chosen (lambda, offset)."""

import logging

import numpy as np
import yaml
from astropy.table import Table

from spectroparallax import model
from spectroparallax.archives.columns import as_float, fit_parallax
from spectroparallax.catalog import calibration, stats, table
from spectroparallax.io import atomic
from spectroparallax.model import crossval, files as model_files
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
best = yaml.safe_load(open(snakemake.input.best))
lam, offset = best["lambda"], best["offset"]
parent = Table.read(snakemake.input.parent)
X = np.load(snakemake.input.X, mmap_mode="r")
X_err = np.load(snakemake.input.X_err, mmap_mode="r")
models = model_files.read_heldout_models(
    {fold: snakemake.params.model.format(fold=fold, lam=lam, offset=offset) for fold in snakemake.params.folds},
    lam, offset, parent["training"], parent["fold"])
thetas = {fold: np.asarray(fit["theta"]) for fold, fit in models.items()}
spec, spec_err = crossval.out_of_fold(parent["fold"], thetas, X, X_err, model.predict)
calibrations = spec_err_eq5 = None
if snakemake.params.uncertainties == "improved":
    spec_err_eq5 = spec_err
    names = tuple(snakemake.params.epsilon_covariates or ())
    degrees = (snakemake.params.epsilon_degree,) * len(names)
    covariates = calibration.covariate_columns(parent, names, snakemake.input.parent) if names else None
    spec_err, calibrations = calibration.cross_fit(
        parent["fold"], fit_parallax(parent, snakemake.params.l21) + offset, as_float(parent["parallax_error"]), spec, spec_err_eq5,
        parent["training"], covariates=covariates, names=names, degrees=degrees,
        outlier_factor=snakemake.params.outlier_factor, fit_scale=snakemake.params.fit_scale)
    for fold, cal in calibrations.items():
        logging.info("uncertainties of fold %s, calibrated on the other folds' %d training stars: s = %.3f +- %.3f, "
                     "epsilon = %.4f +- %.4f, outlier fraction %.3f +- %.3f", fold, cal.n_stars, cal.s, cal.s_err,
                     cal.epsilon, cal.epsilon_err, cal.f, cal.f_err)
        for (name, power), b, b_err in zip(cal.terms(), cal.coefficients, cal.coefficient_errors):
            logging.info("  ln epsilon: %+.3f +- %.3f (%s - %.3f)^%d, %s held in %.3f..%.3f", b, b_err, name,
                         cal.references[names.index(name)], power, name, cal.lowers[names.index(name)],
                         cal.uppers[names.index(name)])
    for k, name in enumerate(names):
        if not np.isfinite(covariates[:, k]).all():
            logging.info("%d stars without a finite %s get epsilon at its reference value",
                         (~np.isfinite(covariates[:, k])).sum(), name)
cat = table.build_catalog(parent, spec, spec_err, offset, lam, snakemake.params.config_hash,
                          style=snakemake.params.style, training_cfg=snakemake.params.training_cuts,
                          spec_err_eq5=spec_err_eq5, calibrations=calibrations, l21=snakemake.params.l21)
atomic.write_table(cat, snakemake.output.fits)
atomic.write_table(cat, snakemake.output.csv)
atomic.write_table(calibration.calibration_table(calibrations, snakemake.params.folds), snakemake.output.calibration)

headline = stats.summary(cat, offset=offset)
logging.info("catalog: %d stars, %d without a prediction; lambda %g, offset %g mas", len(cat),
             (cat["flag"] != 0).sum(), lam, offset)
logging.info("setting chosen by crossval (%s): %s", snakemake.input.best, best.get("reason", "lowest held-out chi2"))
logging.info("robust width of (Gaia - spec) / sqrt(sigma_Gaia^2 + sigma_spec^2), training stars: %.3f",
             headline["normalized_residual_width"])
