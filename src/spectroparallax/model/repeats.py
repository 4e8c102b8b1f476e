"""Split stability (model.split_repeats; issue 17): the A/B fit repeated over seeded random splits.

HER19's referee asked how the coefficients theta vary from Training Set A to B; the authors' later
code (infer_parallax.py @ e306952, "for referee") refits over several random two-way splits. Here
repeat r relabels every Parent Sample star with its own seeded random fold (:func:`repeat_labels`),
trains one model per held-out fold at the setting cross-validation chose (rule repeat_train, with
:func:`spectroparallax.model.training.train_fold`), and predicts each star from the repeat-r model
that held its fold out (:func:`predict_repeat`). Over the repeats each star then has a spread of
spec_parallax (:func:`spread_table`), which :func:`spread_summary` sets against the catalog's quoted
uncertainty per S/N bin (spec_parallax_err: eq. 5 in the paper mode, which propagates only the feature
errors, not the uncertainty of theta that a different Training Set would give; eq. 5 calibrated on
held-out stars in the improved mode, catalog.calibration).

Reads the Parent Sample, the design matrix, the repeat models and the catalog; the rules write
``results/<survey>/repeats/`` (repeat_<r>/heldout_<fold>.fits, spread.fits, spread_summary.ecsv).
"""

import numpy as np
from astropy.table import Table
from scipy import stats as scipy_stats

from spectroparallax.archives.columns import as_float
from spectroparallax.io.errors import InputFileError
from spectroparallax.sample import folds as sample_folds
from spectroparallax.sample.cutflow import EmptySampleError

from . import crossval

#: Number of S/N bins of the summary (quantiles of the APOGEE SNR of the stars with a spread, so that
#: every bin holds about the same number of stars on any survey), and the summary's percentiles of
#: the per-star ratio spread / quoted error.
N_SNR_BINS = 4
RATIO_PERCENTILES = (16, 50, 84)


def repeat_seed(split_seed: int, repeat: int) -> str:
    """The seed of repeat ``repeat``'s fold labels, derived from model.split_seed: never the seed of
    the catalog's own split, so repeat 0 is a new random split too."""
    return f"{int(split_seed)}:repeat:{int(repeat)}"


def repeat_labels(apogee_ids, n_folds: int, split_seed: int, repeat: int) -> np.ndarray:
    """Each star's fold ('A', 'B', ...) in repeat ``repeat``: seeded random labels from a hash of
    (:func:`repeat_seed`, APOGEE_ID), as :func:`spectroparallax.sample.folds.fold_labels` draws
    them. Random in both modes: the repeats ask how the fit varies over random splits, which the
    paper's one split by Gaia random_index parity cannot answer. EmptySampleError (one line) if a
    fold gets no star."""
    labels = sample_folds.fold_labels(apogee_ids, n_folds, repeat_seed(split_seed, repeat), require_all=False)
    empty = sorted(set("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n_folds]) - set(labels))
    if empty:
        raise EmptySampleError(
            f"split repeat {repeat} (seed {repeat_seed(split_seed, repeat)}): fold {', '.join(empty)} of {n_folds} "
            f"got no Parent Sample star ({len(labels)} stars); enlarge the sample or set model.split_repeats: 0")
    return labels


def with_folds(parent: Table, labels) -> Table:
    """A copy of the Parent Sample's columns with ``fold`` replaced by ``labels``, for the training
    function of the catalog's models (the Training Set flag does not depend on the fold: eq. 8-10
    cut each star on its own astrometry)."""
    table = Table(parent, copy=False)
    table["fold"] = np.asarray(labels, dtype=str)
    return table


def check_repeat_model(model: Table, path, repeat: int, seed: str) -> None:
    """InputFileError (one line naming ``path``) unless the model file's header says it was trained
    for ``repeat`` with the fold labels of ``seed`` (header REPEAT and RSEED)."""
    got = (model.meta.get("REPEAT"), model.meta.get("RSEED"))
    if got != (repeat, seed):
        raise InputFileError(path, f"model file of repeat {got[0]} with fold seed {got[1]}, expected repeat {repeat} "
                             f"with seed {seed}", "delete it and rerun, so rule repeat_train fits it for this repeat")


def predict_repeat(labels, models: dict, X, X_err, predict):
    """spec_parallax and its eq. 5 error [mas] of every star in one repeat, each from the model
    ``models[fold]`` (theta) that held the star's fold (``labels``) out. ValueError if a star's fold
    has no model (it would go unpredicted). Returns float64 arrays (n,)."""
    labels = np.char.strip(np.asarray(labels, dtype=str))
    missing = sorted(set(labels) - set(models))
    if missing:
        raise ValueError(f"no repeat model holds out fold(s) {', '.join(missing)}; models for {', '.join(sorted(models))}")
    return crossval.out_of_fold(labels, models, X, X_err, predict)


def spread(spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per star, over the repeats (rows of ``spec``, (R, n) [mas]; NaN = no prediction): mean,
    sample standard deviation (ddof 1: with N repeats its square is an unbiased estimate of the
    variance over splits; NaN below two predictions) and the number of finite predictions."""
    spec = np.asarray(spec, dtype=float)
    finite = np.isfinite(spec)
    n = finite.sum(axis=0)
    total = np.where(finite, spec, 0.0).sum(axis=0)
    mean = np.divide(total, n, out=np.full(n.shape, np.nan), where=n > 0)
    sq = np.where(finite, (spec - mean) ** 2, 0.0).sum(axis=0)
    std = np.sqrt(np.divide(sq, n - 1, out=np.full(n.shape, np.nan), where=n > 1))
    return mean, std, n


#: Units and descriptions of spread.fits.
SPREAD_COLUMNS = {
    "2MASS_ID": (None, "APOGEE / 2MASS identifier"),
    "source_id": (None, "Gaia DR2 source_id"),
    "SNR": (None, "APOGEE spectral signal-to-noise ratio (allStar SNR)"),
    "training": (None, "True if the star is in a Training Set (eq. 8-10)"),
    "spec_parallax": ("mas", "the catalog's spectrophotometric parallax (its own A/B split)"),
    "spec_parallax_err": ("mas", "the catalog's quoted uncertainty (eq. 5 in the paper mode, calibrated in the "
                                 "improved mode: the catalog's ERRMODEL)"),
    "repeat_fold": (None, "the star's fold in each repeat (column r: repeat r), held out by the model that predicts it"),
    "repeat_spec_parallax": ("mas", "spectrophotometric parallax in each repeat, from the repeat model that held "
                             "the star's fold out"),
    "spec_parallax_mean": ("mas", "mean of repeat_spec_parallax over the repeats"),
    "spec_parallax_std": ("mas", "sample standard deviation (ddof 1) of repeat_spec_parallax over the repeats: "
                          "the spread over random splits"),
    "n_repeats": (None, "number of repeats with a finite prediction"),
    "spread_ratio": (None, "spec_parallax_std / spec_parallax_err: the split spread in units of the quoted error"),
}


def spread_table(parent: Table, catalog: Table, labels, spec, lam: float, offset: float,
                 catalog_path="the catalog") -> Table:
    """Per-star spread over the repeats (spread.fits), one row per Parent Sample star, in its order.

    ``labels``: (R, n) repeat folds; ``spec``: (R, n) repeat predictions [mas]; ``catalog``: the
    catalog (same rows as ``parent``: InputFileError otherwise), whose spec_parallax_err is the
    quoted uncertainty. Every column has a unit and a description (:data:`SPREAD_COLUMNS`).
    """
    ids = np.char.strip(np.asarray(parent["APOGEE_ID"], dtype=str))
    cat_ids = np.char.strip(np.asarray(catalog["2MASS_ID"], dtype=str))
    if cat_ids.shape != ids.shape or not np.array_equal(cat_ids, ids):
        raise InputFileError(catalog_path, f"its {len(cat_ids)} rows are not the Parent Sample's {len(ids)} stars "
                             "in order", "rerun the catalog rule (it was made from another Parent Sample)")
    labels, spec = np.asarray(labels, dtype=str), np.asarray(spec, dtype=float)
    mean, std, n = spread(spec)
    quoted = as_float(catalog["spec_parallax_err"])
    table = Table()
    table["2MASS_ID"] = ids
    table["source_id"] = np.asarray(parent["source_id"], dtype=np.int64)
    table["SNR"] = np.asarray(parent["SNR"], dtype=float)
    table["training"] = np.asarray(parent["training"], dtype=bool)
    table["spec_parallax"] = as_float(catalog["spec_parallax"])
    table["spec_parallax_err"] = quoted
    table["repeat_fold"] = labels.T
    table["repeat_spec_parallax"] = spec.T
    table["spec_parallax_mean"] = mean
    table["spec_parallax_std"] = std
    table["n_repeats"] = n.astype(np.int16)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["spread_ratio"] = std / quoted
    for name, (unit, text) in SPREAD_COLUMNS.items():
        table[name].unit = unit
        table[name].description = text
    table.meta.update({"NREPEATS": int(spec.shape[0]), "LAMBDA": float(lam), "PLXOFFST": float(offset)})
    return table


#: Units and descriptions of spread_summary.ecsv.
SUMMARY_COLUMNS = {
    "stars": (None, "the stars of the row: an S/N bin (quartiles of SNR) or all"),
    "snr_min": (None, "lowest APOGEE SNR in the row"),
    "snr_max": (None, "highest APOGEE SNR in the row"),
    "n_stars": (None, "stars with a spread (a finite prediction in every repeat) and a quoted error"),
    "median_spread": ("mas", "median over the stars of spec_parallax_std (the spread over random splits)"),
    "rms_spread": ("mas", "sqrt of the mean of spec_parallax_std^2: unbiased for the mean variance over splits"),
    "median_quoted_err": ("mas", "median over the stars of the catalog's spec_parallax_err (the quoted uncertainty)"),
    "median_ratio": (None, "median_spread / median_quoted_err"),
    "rms_ratio": (None, "rms_spread / median_quoted_err"),
    **{f"ratio_p{p}": (None, f"{p}th percentile over the stars of spec_parallax_std / spec_parallax_err")
       for p in RATIO_PERCENTILES},
    "ratio_p50_corrected": (None, "ratio_p50 / median_std_factor (header): the typical spread over splits in units "
                            "of the quoted error, corrected for the few repeats (Gaussian predictions, spread "
                            "proportional to the quoted error)"),
    "median_fractional_spread": (None, "median over the stars of spec_parallax_std / spec_parallax_mean"),
}


def spread_summary(table: Table, n_bins: int = N_SNR_BINS) -> Table:
    """The spread against the quoted uncertainty (spread_summary.ecsv): one row per S/N bin
    (``n_bins`` quantile bins of SNR) and one for all stars with a finite spread and quoted error.

    With few repeats the per-star std is noisy (for Gaussian predictions its median is
    sqrt(chi2_median(N-1) / (N-1)) of the true spread, 0.67 for N = 2: meta median_std_factor), so the
    median ratios run low: ratio_p50_corrected divides it out. rms_spread is unbiased for the mean
    variance over splits, but a few stars far outside the Training Set's range dominate it.
    """
    std = np.asarray(table["spec_parallax_std"], float)
    quoted = np.asarray(table["spec_parallax_err"], float)
    mean = np.asarray(table["spec_parallax_mean"], float)
    snr = np.asarray(table["SNR"], float)
    use = np.isfinite(std) & np.isfinite(quoted) & (quoted > 0) & np.isfinite(snr)
    if not use.any():
        raise ValueError("no star has both a spread over the repeats and a quoted error: nothing to summarize")
    edges = np.quantile(snr[use], np.linspace(0, 1, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, snr, side="right") - 1, 0, n_bins - 1)
    groups = [(f"S/N bin {k + 1} of {n_bins}", use & (bins == k)) for k in range(n_bins)] + [("all", use)]
    n = int(table.meta["NREPEATS"])
    rows = []
    for name, sel in groups:
        s, q = std[sel], quoted[sel]
        med_s, rms_s, med_q = (np.median(s), np.sqrt(np.mean(s ** 2)), np.median(q)) if sel.any() else (np.nan,) * 3
        ratio = np.percentile(s / q, RATIO_PERCENTILES) if sel.any() else [np.nan] * len(RATIO_PERCENTILES)
        rows.append({"stars": name, "snr_min": snr[sel].min() if sel.any() else np.nan,
                     "snr_max": snr[sel].max() if sel.any() else np.nan, "n_stars": int(sel.sum()),
                     "median_spread": med_s, "rms_spread": rms_s, "median_quoted_err": med_q,
                     "median_ratio": med_s / med_q, "rms_ratio": rms_s / med_q,
                     **{f"ratio_p{p}": r for p, r in zip(RATIO_PERCENTILES, ratio)},
                     "ratio_p50_corrected": ratio[RATIO_PERCENTILES.index(50)] / median_std_factor(n),
                     "median_fractional_spread": np.median(s / mean[sel]) if sel.any() else np.nan})
    out = Table(rows=rows)
    for name, (unit, text) in SUMMARY_COLUMNS.items():
        out[name].unit = unit
        out[name].description = text
    out.meta.update({"n_repeats": n, "lambda": table.meta.get("LAMBDA"), "offset_mas": table.meta.get("PLXOFFST"),
                     "median_std_factor": median_std_factor(n)})
    return out


def median_std_factor(n_repeats: int) -> float:
    """Median of the sample std (ddof 1) of ``n_repeats`` Gaussian draws in units of their sigma:
    sqrt(chi2.median(N - 1) / (N - 1)) (0.674 for N = 2); NaN below two repeats."""
    if n_repeats < 2:
        return float("nan")
    return float(np.sqrt(scipy_stats.chi2.median(n_repeats - 1) / (n_repeats - 1)))
