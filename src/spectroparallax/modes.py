"""The two modes of the workflow and the named switches each one sets (issue 17).

``mode: paper`` reproduces what Hogg, Eilers & Rix's own code did for the published DR14 catalog
(github.com/aceilers/spectroscopic_parallax: normalize_all_spectra.py @ ee877c7, parent_sample.py
and infer_parallax.py @ 7e102f0, make_figures_HER.py @ 4608f8b; the run
``N44784_lam30_K2_offset0.0483_parallax``). ``mode: improved`` is the project's fixes. Every place
where the two differ is one switch below; config.yaml's ``switches:`` section can set any of them
on its own (null = what the mode says). The Snakefile resolves them once with :func:`resolve` and
hands each rule only the switches it uses, as params, so changing ``mode`` reruns exactly the jobs
whose switches changed. README.md's deviation table has one row per switch.

Each value is a word: ``paper`` or ``improved`` for most switches; the optimizer's are ``paper``
(the paper's L-BFGS-B on the sign() subgradient) and ``exact`` (the project's solver); the
photometry basis's ``magnitudes`` (the paper's) and ``colours``.
"""

from dataclasses import dataclass

MODES = ("paper", "improved")


@dataclass(frozen=True)
class Switch:
    """One difference between the paper's code and the project: its values and what each does."""

    paper: str          # the value mode: paper sets
    improved: str       # the value mode: improved sets
    choices: tuple      # every value the switch accepts
    stage: str          # the subpackage that implements it
    paper_does: str     # what the paper's code does, with the script it is in
    improved_does: str  # what the project does instead, and why


def _pi(stage, paper_does, improved_does):
    return Switch("paper", "improved", ("paper", "improved"), stage, paper_does, improved_does)


SWITCHES = {
    "high_snr_subset": _pi(
        "model",
        "stars with Gaia's own parallax_over_error > 20, before the offset is added (infer_parallax.py)",
        "(parallax + offset) / parallax_error > 20: the signal-to-noise of the quantity the model fits"),
    "ln_flux_errors": _pi(
        "sample",
        "clip(sigma_f, 0, 0.05) / clip(f, 0.01, 1.2) (infer_parallax.py)",
        "min(sigma_f / f, features.ln_flux_err_max): first-order error of ln f, capped for masked pixels"),
    "continuum_fit": _pi(
        "spectra",
        "numpy Chebyshev.fit(w=ivar), which squares w: weights 1/sigma^4; non-continuum pixels enter with "
        "ivar 1/(sigma^2 + 9); fitted on star 0's wavelength grid (normalize_all_spectra.py)",
        "weights 1/sigma (a least-squares fit with the errors), continuum pixels only"),
    "masking": _pi(
        "spectra",
        "normalized error > 0.3: flux 1, error 3; then error > 1 masked and grown by one pixel, also from "
        "outside the chip windows, so each chip's first and last pixel are gaps (normalize_all_spectra.py)",
        "normalized error > spectra.max_normalized_error: flux 1, error spectra.bad_pixel_error, grown by "
        "spectra.mask_grow inside the chips"),
    "pixel_set": _pi(
        "spectra",
        "drop a pixel only where the normalized flux is exactly 1 in every parent star (infer_parallax.py)",
        "keep pixels with data in at least spectra.min_pixel_coverage of the spectra"),
    "duplicates": _pi(
        "sample",
        "the first allStar row of an APOGEE_ID (np.unique); parent cuts in the paper's order (parent_sample.py)",
        "drop the rows flagged EXTRATARG bit 4 (non-primary duplicate); of a star's unflagged rows keep the "
        "highest-S/N one"),
    "quality_cut": _pi(
        "sample",
        "eq. 9-10: visibility_periods_used >= 8 and astrometric_chi2_al / sqrt(n_good_obs_al - 5) <= 35, "
        "thresholds tuned on Gaia DR2 (HER19 sec. 4, infer_parallax.py)",
        "on Gaia DR3, ruwe <= sample.training.ruwe_max in place of eq. 9-10 (DR3's documented astrometric "
        "quality indicator); on Gaia DR2 the same as the paper"),
    "magnitude_errors": _pi(
        "sample",
        "G, BP, RP errors 1.09 sigma_F / F (infer_parallax.py)",
        "2.5 / ln(10) sigma_F / F = 1.0857 sigma_F / F, the first-order error of -2.5 log10 F"),
    "hyperparameters": _pi(
        "model",
        "lambda 30 and offset 0.0483 mas fixed, no grid (infer_parallax.py)",
        "lambda and offset chosen by cross-validation over model.lambda_grid x model.offset_grid"),
    "cv_score": _pi(
        "model",
        "HER19 sec. 4 chooses lambda and the offset by 'prediction accuracy' on the A/B split, not written out; "
        "the held-out chi^2 of eq. 2 with Gaia's errors alone (the paper's code has no grid: infer_parallax.py "
        "fixes both)",
        "the held-out deviance: -2 ln of the Gaussian predictive likelihood with variance sigma_Gaia^2 + "
        "(epsilon spec)^2, epsilon fitted per setting on the same held-out stars; eq. 2 weights a star by Gaia's "
        "error alone, so stars far brighter than the model's few-percent scatter dominate its sum and its noise"),
    "split": _pi(
        "sample",
        "fold A = Gaia random_index even, B = odd (infer_parallax.py)",
        "seeded random fold labels (model.split_seed), any number of folds (model.n_folds)"),
    "zero_point": _pi(
        "model",
        "one constant offset added to every Gaia parallax (HER19 eq. 2, infer_parallax.py: 0.0483 mas on DR2); "
        "on Gaia DR3 the same: model.dr3.constant.* (around the L21 quasar median, +0.017 mas), no per-star "
        "correction",
        "on Gaia DR3, each star's parallax corrected by the Lindegren et al. (2021) zero point "
        "(gaiadr3-zeropoint; out-of-range stars kept uncorrected and counted) and a residual constant "
        "offset from model.dr3.*; on Gaia DR2 the same as the paper"),
    "optimizer": Switch(
        "exact", "exact", ("paper", "exact"), "model",
        "paper: L-BFGS-B on the sign() subgradient of eq. 3, start 0.001/D, burn-in then all stars, "
        "maxfun 50000 (infer_parallax.py)",
        "exact: the project's solver of eq. 3, which reaches lower objectives on the same data; paper mode "
        "uses it too unless set to paper"),
    "photometry_basis": Switch(
        "magnitudes", "magnitudes", ("magnitudes", "colours"), "model",
        "magnitudes: the eight magnitudes G, BP, RP, J, H, K, W1, W2 as features, unpenalized (HER19 eq. 11, "
        "infer_parallax.py); nearly collinear, so the fit trades large cancelling coefficients between them, "
        "which eq. 5 multiplies by the photometric errors",
        "colours (opt-in; improved mode keeps the magnitudes, whose held-out chi^2 and deviance against Gaia are "
        "lower on the mock): the same model fitted as K (unpenalized: the distance modulus) plus the adjacent colours "
        "BP-G, G-RP, RP-J, J-H, H-K, K-W1, W1-W2, L1-penalized with the pixels' lambda, so cross-validation "
        "shrinks the colour terms (spectroparallax.model.photometry_basis); theta is written back in the magnitude basis, "
        "so prediction and eq. 5 are unchanged downstream"),
    "catalog": _pi(
        "catalog",
        "the paper's training_set flag (visibility, parallax_error, chi2 cuts) and values rounded to 4 decimals",
        "full precision"),
    "uncertainties": _pi(
        "catalog",
        "eq. 5 alone: the feature errors propagated through the model (infer_parallax.py)",
        "eq. 5 plus an intrinsic fractional scatter epsilon in quadrature (eq. 5's scale s held at 1: "
        "fitting both is nearly degenerate; ln epsilon a polynomial in calibration.epsilon_covariates, e.g. LOGG and FE_H), "
        "fitted by maximum likelihood on "
        "held-out residuals against Gaia with Gaia's errors and an outlier component, cross-fitted "
        "fold by fold (catalog.calibration); eq. 5 kept as spec_parallax_err_eq5"),
    "figures": _pi(
        "figures",
        "Figs. 1-3, 5 and 6 with the axis ranges, colour maps, axes and star cuts of the paper's plotting "
        "scripts (config figures.<figure>.paper: make_figures_HER.py @ 4608f8b, rotation_curve_uncertainties.py "
        "@ 4608f8b and @ 035a251), e.g. Fig. 5 with G across, Fig. 6 only [alpha/M] < 0.12, v_z < 100 km/s",
        "the project's styles (config figures.<figure>): ranges that fit the data, every star drawn; no "
        "number changes"),
}


def resolve(mode: str, overrides: dict | None = None) -> dict:
    """Every switch's value under ``mode``, with ``overrides`` (a switch name -> value or None) on top.

    None in ``overrides`` means "what the mode says". An unknown mode, switch or value is a
    ValueError naming it and the accepted ones.
    """
    if mode not in MODES:
        raise ValueError(f"config.yaml: mode {mode!r} is not one of {', '.join(MODES)}")
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(SWITCHES))
    if unknown:
        raise ValueError(f"config.yaml: switches: unknown switch(es) {', '.join(unknown)}; "
                         f"known: {', '.join(SWITCHES)}")
    values = {}
    for name, switch in SWITCHES.items():
        value = overrides.get(name)
        if value is None:
            value = getattr(switch, mode)
        elif value not in switch.choices:
            raise ValueError(f"config.yaml: switches.{name}: {value!r} is not one of {', '.join(switch.choices)}")
        values[name] = value
    return values
