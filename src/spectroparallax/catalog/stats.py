"""Summary statistics of a spectrophotometric-parallax catalog (HER19 sec. 5, Figs. 2 and 5).

One set of functions for the cross-validation, the figures, the report and the
``spectroparallax summary`` command, so every quoted number is computed the same way. They work
on our catalog and on the published one (``data_HoggEilersRix2018.fits``), which share the column
names ``Gaia_parallax`` (Gaia DR2 plus the offset), ``Gaia_parallax_err``, ``spec_parallax``,
``spec_parallax_err`` [mas], ``training_set`` (0/1) and ``sample``.
"""

import numpy as np
from astropy.table import Table

#: The paper's parallax offset [mas], added to Gaia DR2 in the published catalog (HER19 sec. 5).
PUBLISHED_OFFSET = 0.048

#: The columns :func:`summary` reads; ours and the published catalog both have them.
SUMMARY_COLUMNS = ("Gaia_parallax", "Gaia_parallax_err", "spec_parallax", "spec_parallax_err", "training_set",
                   "sample")


def robust_scatter(x) -> float:
    """Half the 16-84 percentile range of ``x`` (a robust standard deviation); NaN if empty."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    p16, p84 = np.percentile(x, [16, 84])
    return 0.5 * (p84 - p16)


def robust_scatter_err(x, n_boot: int = 2000, seed: int = 0) -> float:
    """Bootstrap standard error of :func:`robust_scatter` over the finite values of ``x`` (seeded, so
    the same numbers give the same error); NaN for fewer than 3 values. With the ~10-20 members of a
    cluster the width itself is uncertain by 20-30 %, which is what this says."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 3:
        return float("nan")
    draws = x[np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))]
    p16, p84 = np.percentile(draws, [16, 84], axis=1)
    return float(np.std(0.5 * (p84 - p16), ddof=1))


def median_or_nan(x) -> float:
    """Median of the finite values of ``x``; NaN if there are none."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def fractional_residuals(gaia_parallax, spec_parallax) -> np.ndarray:
    """(spec - Gaia) / Gaia [dimensionless] for the stars given.

    Use only on high parallax / error stars, where Gaia is far from zero: this is a summary
    statistic of the paper's Fig. 2, never a fitting input.
    """
    gaia_parallax = np.asarray(gaia_parallax, dtype=float)
    return (np.asarray(spec_parallax, dtype=float) - gaia_parallax) / gaia_parallax


def normalized_residuals(gaia_parallax, gaia_error, spec_parallax, spec_error) -> np.ndarray:
    """(Gaia - spec) / sqrt(sigma_Gaia^2 + sigma_spec^2) [dimensionless]; unit width if the
    uncertainties are right (HER19 sec. 5)."""
    gaia_parallax, spec_parallax = np.asarray(gaia_parallax, float), np.asarray(spec_parallax, float)
    return (gaia_parallax - spec_parallax) / np.hypot(np.asarray(gaia_error, float), np.asarray(spec_error, float))


def _filled(column) -> np.ndarray:
    """A catalog column as float64 with masked entries as NaN."""
    return np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)


def catalog_arrays(cat) -> dict:
    """The summary columns of a catalog (ours or the published one) as plain float / bool arrays."""
    return {
        "gaia": _filled(cat["Gaia_parallax"]),
        "gaia_err": _filled(cat["Gaia_parallax_err"]),
        "spec": _filled(cat["spec_parallax"]),
        "spec_err": _filled(cat["spec_parallax_err"]),
        "training": np.asarray(np.ma.filled(np.ma.asarray(cat["training_set"]), 0)).astype(int) == 1,
        "sample": np.char.strip(np.asarray(cat["sample"], dtype=str)),
    }


#: The two definitions of the high-S/N subset (switches.high_snr_subset).
HIGH_SNR_SUBSETS = ("paper", "improved")


def high_snr(gaia_parallax, gaia_error, offset: float, snr_min: float, subset: str, *,
             strict: bool = False) -> np.ndarray:
    """Boolean mask of the high-S/N subset: the burn-in fit's stars (rule train), the
    cross-validation's high-S/N scatter (rule crossval), Fig. 2's right panel and the summary's
    headline (switches.high_snr_subset).

    ``gaia_parallax``: Gaia DR2 parallax *plus* ``offset`` [mas] (what the model fits and what the
    catalog's Gaia_parallax holds); ``gaia_error`` [mas]. ``subset`` "paper": Gaia's own S/N,
    (gaia_parallax - offset) / gaia_error, as HER19's code selects on ``parallax_over_error``
    before it adds the offset (infer_parallax.py @ 7e102f0: ``cut_burnin = parallax_over_error >
    20``; ``best = ... >= 20``; on the published catalog 1070 training stars); "improved":
    gaia_parallax / gaia_error, the S/N of what the model fits. ``strict``: S/N > ``snr_min`` (the
    burn-in cut), else >= (the paper's Fig. 2 "best" panel). NaN S/N is False.
    """
    if subset not in HIGH_SNR_SUBSETS:
        raise ValueError(f"high_snr_subset {subset!r} is not one of {', '.join(HIGH_SNR_SUBSETS)}")
    gaia_parallax, gaia_error = np.asarray(gaia_parallax, float), np.asarray(gaia_error, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = (gaia_parallax - offset) / gaia_error if subset == "paper" else gaia_parallax / gaia_error
        return snr > snr_min if strict else snr >= snr_min


def high_predicted_snr(spec_parallax, gaia_error, training, snr_min: float = 20.0) -> np.ndarray:
    """Training stars whose *spectrophotometric* parallax / Gaia error >= ``snr_min``.

    The counterpart of :func:`high_snr` that selects on the features and the Gaia error only, not
    on the Gaia parallax: selecting on the measured parallax picks, at fixed features, the stars
    whose true parallax lies above the prediction, so (spec - Gaia) / Gaia over that set is biased
    low by roughly the model scatter squared times the steepness of the selection. Over this set
    the median of (spec - Gaia) / Gaia measures the model's own bias.
    """
    spec_parallax, gaia_error = np.asarray(spec_parallax, float), np.asarray(gaia_error, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(training, bool) & (spec_parallax / gaia_error >= snr_min)


def scatter_and_bias(gaia_parallax, spec_parallax) -> tuple[float, float]:
    """Robust fractional scatter and median bias of (spec - Gaia) / Gaia over the stars given."""
    frac = fractional_residuals(gaia_parallax, spec_parallax)
    return robust_scatter(frac), median_or_nan(frac)


def summary(cat, offset: float | None = None, snr_min: float = 20.0) -> dict:
    """Headline statistics of a catalog (what ``spectroparallax summary`` prints).

    ``offset`` [mas] is the one added to Gaia in ``Gaia_parallax``; by default the catalog header's
    ``PLXOFFST`` or, for the published catalog (no header keyword), the paper's 0.048 mas.
    Returns a flat dict of plain Python numbers:

    - ``n_stars``, ``n_with_prediction``, ``n_with_gaia`` (a finite Gaia_parallax; the published
      catalog lacks 30), ``n_sample_<k>`` and ``n_training_<k>`` per sample label;
    - the paper's headline first: ``n_high_snr_gaia`` training stars with Gaia's own
      parallax / error >= ``snr_min`` (offset not added, the paper's definition) and, over those,
      ``scatter_high_snr_gaia`` / ``bias_high_snr_gaia`` against the catalog's Gaia parallax;
    - then the offset-added definition: ``n_high_snr`` stars with Gaia_parallax / error >= ``snr_min``
      and, over those, ``scatter_high_snr`` / ``bias_high_snr`` with the catalog's Gaia parallax and ``scatter_high_snr_no_offset`` / ``bias_high_snr_no_offset``
      with the offset removed (Gaia DR2 as published by Gaia);
    - ``normalized_residual_width``: robust width of (Gaia - spec) / sqrt(sigma_Gaia^2 +
      sigma_spec^2) over the training stars (1 if the uncertainties are right);
    - ``median_fractional_uncertainty``: median of spec_parallax_err / spec_parallax;
    - ``fraction_more_precise_than_gaia``: fraction of stars with both uncertainties whose
      spec_parallax_err < Gaia_parallax_err.
    """
    if offset is None:
        offset = float(getattr(cat, "meta", {}).get("PLXOFFST", PUBLISHED_OFFSET))
    a = catalog_arrays(cat)
    out = {"offset": float(offset), "snr_min": float(snr_min), "n_stars": int(len(a["gaia"])),
           "n_with_prediction": int(np.isfinite(a["spec"]).sum()),
           "n_with_gaia": int(np.isfinite(a["gaia"]).sum())}
    for label in sorted(set(a["sample"].tolist())):
        in_sample = a["sample"] == label
        out[f"n_sample_{label}"] = int(in_sample.sum())
        out[f"n_training_{label}"] = int((in_sample & a["training"]).sum())
    usable = a["training"] & np.isfinite(a["spec"])
    paper = usable & high_snr(a["gaia"], a["gaia_err"], offset, snr_min, "paper")
    out["n_high_snr_gaia"] = int(paper.sum())
    out["scatter_high_snr_gaia"], out["bias_high_snr_gaia"] = scatter_and_bias(a["gaia"][paper], a["spec"][paper])
    high = usable & high_snr(a["gaia"], a["gaia_err"], offset, snr_min, "improved")
    out["n_high_snr"] = int(high.sum())
    out["scatter_high_snr"], out["bias_high_snr"] = scatter_and_bias(a["gaia"][high], a["spec"][high])
    out["scatter_high_snr_no_offset"], out["bias_high_snr_no_offset"] = scatter_and_bias(
        a["gaia"][high] - offset, a["spec"][high])
    train = a["training"] & np.isfinite(a["spec"]) & np.isfinite(a["gaia"])
    out["normalized_residual_width"] = robust_scatter(
        normalized_residuals(a["gaia"][train], a["gaia_err"][train], a["spec"][train], a["spec_err"][train]))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["median_fractional_uncertainty"] = median_or_nan(a["spec_err"] / a["spec"])
        both = np.isfinite(a["spec_err"]) & np.isfinite(a["gaia_err"])
        out["fraction_more_precise_than_gaia"] = (
            float(np.mean(a["spec_err"][both] < a["gaia_err"][both])) if both.any() else float("nan"))
    return out


#: Unit and meaning of each number :func:`summary` returns ("fraction": dimensionless, 0.01 = 1
#: percent); :data:`SUMMARY_DEFINITIONS` says what the terms mean. ``n_sample_<k>`` and
#: ``n_training_<k>`` are described by :func:`describe`.
SUMMARY_FIELDS = {
    "offset": ("mas", "parallax offset included in Gaia_parallax"),
    "snr_min": ("", "high-S/N threshold on the Gaia parallax / error"),
    "n_stars": ("", "stars in the catalog"),
    "n_with_prediction": ("", "stars with a spectrophotometric parallax"),
    "n_with_gaia": ("", "stars with a Gaia parallax"),
    "n_high_snr_gaia": ("", "high-S/N training stars, paper's definition (Gaia's own S/N)"),
    "scatter_high_snr_gaia": ("fraction", "robust fractional scatter, high-S/N, paper's definition"),
    "bias_high_snr_gaia": ("fraction", "median fractional bias, high-S/N, paper's definition"),
    "n_high_snr": ("", "high-S/N training stars, offset added (Fig. 2, right)"),
    "scatter_high_snr": ("fraction", "robust fractional scatter, high-S/N, offset added (Fig. 2)"),
    "bias_high_snr": ("fraction", "median fractional bias, high-S/N, offset added (Fig. 2)"),
    "scatter_high_snr_no_offset": ("fraction", "robust fractional scatter, offset removed"),
    "bias_high_snr_no_offset": ("fraction", "median fractional bias, offset removed"),
    "normalized_residual_width": ("", "robust width of the normalized residuals"),
    "median_fractional_uncertainty": ("fraction", "median fractional uncertainty (Fig. 5)"),
    "fraction_more_precise_than_gaia": ("fraction", "stars more precise than Gaia (Fig. 5)"),
}
#: The terms of :data:`SUMMARY_FIELDS`, for a footnote or caption.
SUMMARY_DEFINITIONS = (
    "high-S/N, paper's definition: training stars with Gaia's own parallax / error, (Gaia_parallax - offset) "
    "/ Gaia_parallax_err, >= the threshold (infer_parallax.py); high-S/N, offset added: Gaia_parallax / "
    "Gaia_parallax_err >= the threshold; "
    "fractional: (spec_parallax - Gaia_parallax) / Gaia_parallax; robust scatter: half the 16-84 percentile "
    "range; bias: the median; offset removed: Gaia DR2 as published, Gaia_parallax - offset; normalized "
    "residuals: (Gaia - spec) / sqrt(sigma_Gaia^2 + sigma_spec^2) of the training stars (width 1 if the "
    "uncertainties are right); fractional uncertainty: spec_parallax_err / spec_parallax; more precise than "
    "Gaia: spec_parallax_err < Gaia_parallax_err."
)


def describe(key: str) -> tuple[str, str]:
    """(unit, description) of one key of :func:`summary`'s result."""
    for prefix, what in (("n_sample_", "stars in sample"), ("n_training_", "training stars in sample")):
        if key.startswith(prefix):
            return "", f"{what} {key.removeprefix(prefix)}"
    return SUMMARY_FIELDS[key]


def json_ready(result: dict) -> dict:
    """``result`` with NaN / inf replaced by None (JSON has no NaN: a statistic over no stars is null)."""
    return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in result.items()}


def summary_table(result: dict) -> Table:
    """:func:`summary`'s result as a table: quantity, value (4 significant digits), unit, description."""
    keys = list(result)
    values = [str(v) if isinstance(v, int) else f"{v:.4g}" for v in result.values()]
    return Table({"quantity": keys, "value": values, "unit": [describe(k)[0] for k in keys],
                  "description": [describe(k)[1] for k in keys]})
