"""The output catalog (HER19 Table 1 and more), one row per Parent Sample star."""

import hashlib
import json

import numpy as np
from astropy.table import Table

from spectroparallax.archives.columns import as_float, fit_parallax

#: Decimals of the parallax columns in the paper's catalog: make_figures_HER.py @ 4608f8b rounds
#: Gaia_parallax, Gaia_parallax_err, spec_parallax and spec_parallax_err with np.round(x, 4).
PAPER_DECIMALS = 4
PAPER_ROUNDED = ("Gaia_parallax", "Gaia_parallax_err", "spec_parallax", "spec_parallax_err")

#: Flag values of the catalog's ``flag`` column.
FLAG_OK = 0
FLAG_NO_PREDICTION = 1  # the feature vector gave no finite prediction (see the log)


def config_hash(settings: dict) -> str:
    """Short SHA-256 of ``settings`` (sorted-key JSON; tuples hash as lists), for the catalog header.

    The workflow passes the params of the rules the catalog is made from (catalog.smk), so the
    hash changes exactly when a setting that changes the catalog does.
    """
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=_per_job)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _per_job(value):
    """A rule param that is a function of a job's wildcards (train's ``start``: which model file the
    fit starts from, the same optimum either way) is no setting of the catalog: one fixed marker."""
    if callable(value):
        return "<per job>"
    raise TypeError(f"config_hash: a param of type {type(value).__name__} has no JSON form")


def paper_training_flag(parent: Table, training_cfg: dict) -> np.ndarray:
    """The published catalog's ``training_set``: eq. 8-10 alone on the Parent Sample's Gaia columns.

    make_figures_HER.py @ 4608f8b sets it from visibility_periods_used >= 8, parallax_error < 0.1
    and astrometric_chi2_al / sqrt(astrometric_n_good_obs_al - 5) <= 35 (``training_cfg`` holds the
    three thresholds, sample.training in config.yaml). It omits the fit's own requirements (a finite
    parallax; the project's parallax_error floor), so a star can carry the flag without having been
    fitted; a missing value (NaN) never passes a cut.
    """
    error = as_float(parent["parallax_error"])
    vpu = as_float(parent["visibility_periods_used"])
    n_good = as_float(parent["astrometric_n_good_obs_al"])
    with np.errstate(invalid="ignore", divide="ignore"):
        ruwe_like = as_float(parent["astrometric_chi2_al"]) / np.sqrt(n_good - 5)
        return ((vpu >= training_cfg["visibility_periods_min"]) & (error < training_cfg["parallax_error_max"])
                & (ruwe_like <= training_cfg["astrometric_chi2_max"]))


def build_catalog(parent: Table, spec, spec_err, offset: float, lam: float, cfg_hash: str, *,
                  style: str = "improved", training_cfg: dict | None = None, spec_err_eq5=None,
                  calibrations: dict | None = None, l21: bool = True) -> Table:
    """Catalog columns (published names where they exist) with units and descriptions.

    ``spec`` and ``spec_err`` [mas] are the out-of-fold predictions for ``parent``'s rows; a
    non-finite one gets the flag FLAG_NO_PREDICTION and masked values, never a silent NaN.
    ``style`` is the catalog switch (spectroparallax.modes): "improved" keeps full precision and
    flags the stars the models were trained on; "paper" writes the published catalog's
    ``training_set`` flag (:func:`paper_training_flag`, thresholds ``training_cfg``) and rounds the
    parallax columns to :data:`PAPER_DECIMALS` decimals, as make_figures_HER.py did.

    ``spec_err`` is eq. 5's uncertainty unless ``calibrations`` ({fold: catalog.calibration.
    Calibration}, switches.uncertainties improved) is given: then ``spec_err`` is the calibrated
    uncertainty, ``spec_err_eq5`` eq. 5's (written as spec_parallax_err_eq5), and the header holds
    each fold's s, epsilon and outlier fraction with their errors (ERRMODEL says which); if epsilon
    varies with covariates (ERRCOV names them, ERRDEG gives each one's polynomial degree), also the
    coefficients of the trend (CALB<k><p>_<fold>: covariate k, power p; errors CALU<k><p>_<fold>) and
    each covariate's reference value and range (CALR<k>_, CALLO<k>_, CALHI<k>_<fold>).

    ``l21`` (switches.zero_point): on Gaia DR3, Gaia_parallax is the parallax minus its L21 zero
    point (True) or the raw parallax (False, a constant offset only); the header's PLXZP says which.
    """
    if style not in ("paper", "improved"):
        raise ValueError(f"catalog style {style!r}: use 'paper' or 'improved'")
    if style == "paper" and training_cfg is None:
        raise ValueError("catalog style 'paper' needs training_cfg (the eq. 8-10 thresholds)")
    spec = np.asarray(spec, dtype=float)
    spec_err = np.asarray(spec_err, dtype=float)
    if (calibrations is None) != (spec_err_eq5 is None):
        raise ValueError("calibrated uncertainties need both spec_err_eq5 and calibrations")
    bad = ~(np.isfinite(spec) & np.isfinite(spec_err))
    trends = {(cal.covariates, cal.degrees) for cal in (calibrations or {}).values()}
    if len(trends) > 1:
        raise ValueError(f"the folds' calibrations use different scatter trends {sorted(trends)}")
    covariates, degrees = trends.pop() if trends else ((), ())
    gaia = fit_parallax(parent, l21)   # DR3 with l21: minus the L21 zero point (parallax_zero_point)
    gaia_err = as_float(parent["parallax_error"])
    cat = Table()
    cat["2MASS_ID"] = np.char.strip(np.asarray(parent["APOGEE_ID"], dtype=str))
    cat["source_id"] = np.asarray(parent["source_id"], dtype=np.int64)
    cat["ra"] = np.asarray(parent["ra"], dtype=float)
    cat["dec"] = np.asarray(parent["dec"], dtype=float)
    cat["Gaia_parallax"] = np.ma.masked_invalid(gaia + offset)
    cat["Gaia_parallax_err"] = np.ma.masked_invalid(gaia_err)
    cat["spec_parallax"] = np.ma.array(spec, mask=bad)
    cat["spec_parallax_err"] = np.ma.array(spec_err, mask=bad)
    if calibrations is not None:
        cat["spec_parallax_err_eq5"] = np.ma.array(np.asarray(spec_err_eq5, dtype=float), mask=bad)
    training = paper_training_flag(parent, training_cfg) if style == "paper" else np.asarray(parent["training"])
    cat["training_set"] = np.asarray(training, dtype=np.int16)
    if style == "paper":
        for name in PAPER_ROUNDED:
            cat[name] = np.round(cat[name], PAPER_DECIMALS)
    cat["sample"] = np.char.strip(np.asarray(parent["fold"], dtype=str))
    cat["flag"] = np.where(bad, FLAG_NO_PREDICTION, FLAG_OK).astype(np.int16)
    units = {"ra": "deg", "dec": "deg", "Gaia_parallax": "mas", "Gaia_parallax_err": "mas",
             "spec_parallax": "mas", "spec_parallax_err": "mas", "spec_parallax_err_eq5": "mas"}
    dr3 = "parallax_zero_point" in parent.colnames   # only DR3 chunks carry the L21 zero point
    release = "DR3" if dr3 else "DR2"
    zero_point = "L21" if dr3 and l21 else "constant"
    descriptions = {
        "2MASS_ID": "APOGEE / 2MASS identifier",
        "source_id": f"Gaia {release} source_id",
        "ra": "Gaia right ascension (epoch 2015.5)",
        "dec": "Gaia declination (epoch 2015.5)",
        "Gaia_parallax": (f"Gaia DR3 parallax minus its L21 zero point (where valid) plus the offset {offset} mas"
                          if zero_point == "L21" else f"Gaia {release} parallax plus the offset {offset} mas"),
        "Gaia_parallax_err": f"Gaia {release} parallax uncertainty",
        "spec_parallax": "spectrophotometric parallax exp(theta . x) (eq. 4) from the model not trained on this star's fold",
        "spec_parallax_err": ("uncertainty propagated from the feature errors (eq. 5)" if calibrations is None else
                              "calibrated uncertainty sqrt((s sigma_eq5)^2 + (epsilon spec_parallax)^2); s, epsilon "
                              "of the star's fold in the header (CALS_<fold>, CALE_<fold>)" + (
                                  "; epsilon = CALE_<fold> exp(sum over covariates k (ERRCOV) and powers p (1..ERRDEG) "
                                  "of CALB<k><p>_<fold> (c_k - CALR<k>_<fold>)^p), c_k held within "
                                  "CALLO<k>_<fold>..CALHI<k>_<fold>" if covariates else "")),
        "spec_parallax_err_eq5": "uncertainty propagated from the feature errors alone (eq. 5)",
        "training_set": ("1 if the star passes eq. 8-10 (the published catalog's flag; it may lack a finite parallax)"
                         if style == "paper" else "1 if the star is in a Training Set (eq. 8-10)"),
        "sample": "fold label (A/B for the paper's two folds)",
        "flag": "0 ok; 1 no finite prediction from the features",
    }
    for name, unit in units.items():
        if name in cat.colnames:
            cat[name].unit = unit
    for name, text in descriptions.items():
        if name in cat.colnames:
            cat[name].description = text
    cat.meta.update({"LAMBDA": float(lam), "PLXOFFST": float(offset), "CFGHASH": cfg_hash, "CATSTYLE": style,
                     "REFERENC": "Hogg, Eilers & Rix 2019, AJ 158, 147",
                     "ERRMODEL": "eq5" if calibrations is None else "calibrated", "PLXZP": zero_point})
    if covariates:
        if len(covariates) > 9 or max(degrees) > 9:
            raise ValueError("the header numbers covariates and powers with one digit each: at most 9 of each")
        cat.meta["ERRCOV"] = ",".join(covariates)
        cat.meta["ERRDEG"] = ",".join(str(d) for d in degrees)
    for fold, cal in (calibrations or {}).items():
        # A FITS header cannot hold NaN: an error the fit could not estimate is left undefined.
        values = {f"CALS_{fold}": cal.s, f"CALSE_{fold}": cal.s_err, f"CALE_{fold}": cal.epsilon,
                  f"CALEE_{fold}": cal.epsilon_err, f"CALF_{fold}": cal.f, f"CALFE_{fold}": cal.f_err}
        position = {name: k + 1 for k, name in enumerate(covariates)}
        for (name, power), b, b_err in zip(cal.terms(), cal.coefficients, cal.coefficient_errors):
            values.update({f"CALB{position[name]}{power}_{fold}": b, f"CALU{position[name]}{power}_{fold}": b_err})
        for k, name in enumerate(covariates):
            values.update({f"CALR{k + 1}_{fold}": cal.references[k], f"CALLO{k + 1}_{fold}": cal.lowers[k],
                           f"CALHI{k + 1}_{fold}": cal.uppers[k]})
        cat.meta.update({key: float(v) if np.isfinite(v) else None for key, v in values.items()})
        cat.meta[f"CALN_{fold}"] = int(cal.n_stars)
    return cat
