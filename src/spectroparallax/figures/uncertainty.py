"""The uncertainty figure: normalized residuals of the training stars against a unit Gaussian."""

import numpy as np

from spectroparallax.catalog import stats
from . import common


def training_pulls(a: dict) -> np.ndarray:
    """(Gaia - spec) / sqrt(sigma_Gaia^2 + sigma_spec^2) of the training stars with both parallaxes,
    the stars whose robust width ``stats.summary`` reports; ``a``: ``stats.catalog_arrays``."""
    train = a["training"] & np.isfinite(a["spec"]) & np.isfinite(a["gaia"])
    return stats.normalized_residuals(a["gaia"][train], a["gaia_err"][train], a["spec"][train], a["spec_err"][train])


def normalized_residuals(pull, width: float, style: dict):
    """Histogram of (Gaia - spec) / sqrt(sigma_Gaia^2 + sigma_spec^2) (``pull``, dimensionless) as a
    density, with the unit Gaussian expected if the uncertainties are right and a Gaussian of the
    robust ``width`` (from :func:`spectroparallax.catalog.stats.summary`).

    ``style``: config ``figures.uncertainty`` (histogram range and bins).
    """
    pull = np.asarray(pull, float)
    pull = pull[np.isfinite(pull)]
    lo, hi = style["range"]
    outside = int(((pull < lo) | (pull > hi)).sum())
    fig = common.new_figure(5.0, 3.8)
    ax = fig.subplots()
    # Density over all stars (those outside the range included), so the curves compare honestly.
    counts, edges = np.histogram(pull, bins=style["bins"], range=(lo, hi))
    density = counts / (pull.size * np.diff(edges)) if pull.size else counts.astype(float)
    ax.stairs(density, edges, fill=True, color="tab:blue", alpha=0.5, label="training stars")
    x = np.linspace(lo, hi, 400)
    ax.plot(x, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), "k-", lw=1.2, label="unit Gaussian")
    if np.isfinite(width) and width > 0:
        ax.plot(x, np.exp(-0.5 * (x / width) ** 2) / (width * np.sqrt(2 * np.pi)), "--", color="tab:red", lw=1.2,
                label=f"Gaussian of the robust width {width:.2f}")
    top = max(density.max(initial=0.0), 1 / np.sqrt(2 * np.pi))
    ax.set(xlim=(lo, hi), ylim=(0, 1.35 * top), xlabel=r"$(\varpi^{(a)} - \varpi^{(\mathrm{sp})}) / \sqrt{\sigma^{(a)2} + \sigma^{(\mathrm{sp})2}}$",
           ylabel="probability density")
    ax.legend(loc="upper right", frameon=False, fontsize="small")
    text = f"N = {pull.size}\nrobust width = {width:.3f}"
    if outside:
        text += f"\n{outside} outside the axes"
    common.corner_text(ax, text)
    return fig
