"""The uncertainty figure: normalized residuals of the training stars against a unit Gaussian, and
(issue 20) their robust width in bins of S/N, G, Teff, H - W2, logg and [Fe/H] (the last two the
calibration's default covariates, calibration.epsilon_covariates), before (eq. 5 alone) and after the
calibration of the improved mode (spectroparallax.catalog.calibration)."""

import numpy as np

from spectroparallax.archives.columns import as_float
from spectroparallax.catalog import stats
from . import common, data


def training_rows(a: dict) -> np.ndarray:
    """The training stars with both parallaxes: those whose robust width ``stats.summary`` reports."""
    return a["training"] & np.isfinite(a["spec"]) & np.isfinite(a["gaia"])


def training_pulls(a: dict, spec_err=None) -> np.ndarray:
    """(Gaia - spec) / sqrt(sigma_Gaia^2 + sigma_spec^2) of the :func:`training_rows`; ``a``:
    ``stats.catalog_arrays``; ``spec_err``: another uncertainty of spec for every catalog row
    (e.g. spec_parallax_err_eq5), default the catalog's spec_parallax_err."""
    train = training_rows(a)
    err = a["spec_err"] if spec_err is None else np.asarray(spec_err, float)
    return stats.normalized_residuals(a["gaia"][train], a["gaia_err"][train], a["spec"][train], err[train])


def binned_widths(pull, x, n_bins: int = 4):
    """Robust width of ``pull`` in ``n_bins`` bins of ``x`` holding equal numbers of stars (both
    finite). Returns (median x, width, count) per bin; a width that drifts across the bins means the
    model of the uncertainty is still wrong somewhere."""
    pull, x = np.asarray(pull, float), np.asarray(x, float)
    ok = np.isfinite(pull) & np.isfinite(x)
    pull, x = pull[ok], x[ok]
    if x.size < n_bins:
        return np.full(0, np.nan), np.full(0, np.nan), np.zeros(0, int)
    order = np.argsort(x, kind="stable")
    parts = np.array_split(order, n_bins)
    centres = np.array([np.median(x[p]) for p in parts])
    widths = np.array([stats.robust_scatter(pull[p]) for p in parts])
    return centres, widths, np.array([p.size for p in parts])


#: The quantities the widths are binned in: label -> (key of figures.data.labels, axis label).
BINNED = {"snr": ("snr", "APOGEE S/N"), "g": ("g", "G [mag]"), "teff": ("teff", "Teff [K]"),
          "h_w2": ("h_w2", "H - W2 [mag]"), "logg": ("logg", "ASPCAP logg"), "fe_h": ("fe_h", "ASPCAP [Fe/H]")}


def uncertainty_figure(cat, parent, style):
    """The figure of rule figure_uncertainty from the catalog and the Parent Sample (row for row):
    :func:`calibration` with the catalog's pulls and, for a calibrated catalog (switches.uncertainties
    improved), those with eq. 5's uncertainty (spec_parallax_err_eq5). Returns (figure, {"n": training
    stars, "width": the summary's normalized_residual_width, "width_eq5": eq. 5's or None})."""
    a = stats.catalog_arrays(cat)
    pull = training_pulls(a)
    before = training_pulls(a, as_float(cat["spec_parallax_err_eq5"])) if "spec_parallax_err_eq5" in cat.colnames else None
    width = stats.summary(cat)["normalized_residual_width"]
    fig = calibration(pull, width, style, data.labels(parent), training_rows(a), before=before)
    return fig, {"n": int(pull.size), "width": width,
                 "width_eq5": None if before is None else stats.robust_scatter(before)}


def calibration(pull, width, style, lab: dict, rows, *, before=None, n_bins: int = 4):
    """The uncertainty figure: the histogram of :func:`normalized_residuals` (with the eq.-5 pulls
    ``before`` as an outline when the catalog is calibrated) and the robust width in ``n_bins`` bins
    of each of :data:`BINNED` over the training stars (``lab``: figures.data.labels of the Parent
    Sample; ``rows``: the :func:`training_rows` mask the pulls belong to).
    """
    fig = common.new_figure(13.0, 5.6)
    axes = fig.subplots(2, 4).ravel()
    _histogram(axes[0], pull, width, style, before)
    for ax, (name, (key, label)) in zip(axes[1:], BINNED.items()):
        x = np.asarray(lab[key], float)[rows]
        for values, text, fmt, colour in ((before, "eq. 5 alone", "s--", "tab:orange"),
                                          (pull, "as quoted", "o-", "tab:blue")):
            if values is None:
                continue
            centres, widths, _ = binned_widths(values, x, n_bins)
            ax.plot(centres, widths, fmt, color=colour, ms=4, label=f"width, {text}")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set(xlabel=label, ylabel="robust width")
        ax.set_ylim(bottom=0)
    axes[-1].axis("off")
    handles = [h for ax in axes[:2] for h in ax.get_legend_handles_labels()[0]]
    axes[-1].legend(handles=handles, loc="upper left", frameon=False, fontsize="small")
    axes[-1].text(0.0, 0.35, "Width 1: the quoted uncertainties are right.\nA width that drifts across\n"
                  "the bins: the error model is still\nwrong there (bins hold equal\nnumbers of training stars).",
                  va="top", fontsize="small", transform=axes[-1].transAxes)
    return fig


def _histogram(ax, pull, width, style, before):
    """The density of the pulls (and of ``before``'s as an outline) against the unit Gaussian and a
    Gaussian of the robust ``width``; the legend is drawn beside it, by :func:`calibration`."""
    pull = np.asarray(pull, float)
    pull = pull[np.isfinite(pull)]
    lo, hi = style["range"]
    outside = int(((pull < lo) | (pull > hi)).sum())
    counts, edges = np.histogram(pull, bins=style["bins"], range=(lo, hi))
    density = counts / (pull.size * np.diff(edges)) if pull.size else counts.astype(float)
    ax.stairs(density, edges, fill=True, color="tab:blue", alpha=0.5, label="training stars, as quoted")
    top = max(density.max(initial=0.0), 1 / np.sqrt(2 * np.pi))
    text = f"N = {pull.size}\nrobust width = {width:.3f}"
    if before is not None:
        b = np.asarray(before, float)
        b = b[np.isfinite(b)]
        c, _ = np.histogram(b, bins=style["bins"], range=(lo, hi))
        d = c / (b.size * np.diff(edges)) if b.size else c.astype(float)
        ax.stairs(d, edges, color="tab:orange", lw=1.2, label="with eq. 5 alone")
        top = max(top, d.max(initial=0.0))
        text += f"\neq. 5 alone: {stats.robust_scatter(b):.3f}"
    x = np.linspace(lo, hi, 400)
    ax.plot(x, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), "k-", lw=1.2, label="unit Gaussian")
    if np.isfinite(width) and width > 0:
        ax.plot(x, np.exp(-0.5 * (x / width) ** 2) / (width * np.sqrt(2 * np.pi)), "--", color="tab:red", lw=1.2,
                label=f"Gaussian of the robust width {width:.2f}")
    ax.set(xlim=(lo, hi), ylim=(0, 1.35 * top),
           xlabel=r"$(\varpi^{(a)} - \varpi^{(\mathrm{sp})}) / \sqrt{\sigma^{(a)2} + \sigma^{(\mathrm{sp})2}}$",
           ylabel="probability density")
    if outside:
        text += f"\n{outside} outside the axes"
    common.corner_text(ax, text)
