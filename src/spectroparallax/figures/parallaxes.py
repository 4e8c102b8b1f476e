"""Figs. 2 and 3: Gaia against out-of-fold spectrophotometric parallaxes (HER19 Figs. 2, 3).

Gaia (with the catalog's offset) on the horizontal axis, ours on the vertical one, which is
positive by construction. Every number printed on a panel comes from :mod:`spectroparallax.catalog.stats`,
so the high-S/N panel quotes exactly what ``stats.summary`` reports for the same catalog.
"""

from dataclasses import dataclass

import numpy as np

from spectroparallax.catalog import stats
from spectroparallax.catalog.stats import high_snr
from . import common

GAIA_LABEL = r"Gaia DR2 parallax $\varpi^{(a)}$ + offset [mas]"
SPEC_LABEL = r"spectrophotometric parallax $\varpi^{(\mathrm{sp})}$ [mas]"


@dataclass
class Panel:
    """One panel's stars and its statistics of (spec - Gaia) / Gaia."""
    title: str
    mask: np.ndarray
    n: int
    scatter: float
    bias: float


def _panel(title, mask, a) -> Panel:
    scatter, bias = stats.scatter_and_bias(a["gaia"][mask], a["spec"][mask])
    return Panel(title, mask, int(mask.sum()), scatter, bias)


def panels(a: dict, snr_min: float, *, subset: str = "improved", offset: float = 0.0) -> dict[str, Panel]:
    """The three panels of Fig. 2 from ``a`` = :func:`spectroparallax.catalog.stats.catalog_arrays`.

    'parent': every star with both parallaxes; 'training': the Training Sets; 'high_snr':
    training stars of the high-S/N subset (:func:`spectroparallax.catalog.stats.high_snr`, switches.high_snr_subset)
    with S/N >= ``snr_min``: "improved", Gaia parallax (with the offset) / error, as ``stats.summary``'s
    offset-added definition; "paper", Gaia's own parallax / error, before the catalog's ``offset`` [mas]
    is added, as ``stats.summary``'s paper definition and HER19's code.
    """
    both = np.isfinite(a["spec"]) & np.isfinite(a["gaia"])
    high = a["training"] & high_snr(a["gaia"], a["gaia_err"], offset, snr_min, subset) & np.isfinite(a["spec"])
    title = (f"Training, $\\varpi^{{(a)}}/\\sigma^{{(a)}} \\geq {snr_min:g}$" if subset == "improved" else
             f"Training, Gaia $\\varpi/\\sigma_\\varpi \\geq {snr_min:g}$ (before offset)")
    return {
        "parent": _panel("Parent Sample", both, a),
        "training": _panel("Training Sets (A + B)", both & a["training"], a),
        "high_snr": _panel(title, high, a),
    }


def _draw(ax, a, panel: Panel, colour, cmap, norm, limits):
    points = common.scatter(ax, a["gaia"][panel.mask], a["spec"][panel.mask], colour[panel.mask], cmap, norm)
    ax.plot(limits, limits, color="k", lw=0.8, label="1:1")
    ax.set(xlim=limits, ylim=limits, xlabel=GAIA_LABEL)
    text = f"{panel.title}\n{common.stats_text(panel.n, panel.scatter, panel.bias)}"
    outside = common.n_outside(a["gaia"][panel.mask], a["spec"][panel.mask], limits, limits)
    if outside:
        text += f"\n{outside} outside the axes"
    common.corner_text(ax, text)
    ax.legend(loc="lower right", frameon=False)
    return points


def comparison(a: dict, figure_panels: dict[str, Panel], snr, style: dict):
    """Fig. 2: one panel per entry of ``figure_panels``, coloured by APOGEE S/N (``snr``).

    ``style``: config ``figures.figure2`` (parallax range [mas], S/N colour range and scale, colour
    map); the caller picks the panels (``style["panels"]``).
    """
    fig = common.new_figure(3.2 * len(figure_panels) + 1.0, 3.7)
    axes = np.atleast_1d(fig.subplots(1, len(figure_panels), sharey=True))
    norm = common.norm(style["snr"], log=style["snr_scale"] == "log")
    for ax, panel in zip(axes, figure_panels.values()):
        points = _draw(ax, a, panel, snr, style["cmap"], norm, style["parallax"])
    axes[0].set_ylabel(SPEC_LABEL)
    fig.colorbar(points, ax=axes, label="APOGEE S/N per pixel", shrink=0.85)
    return fig


def by_label(a: dict, panel: Panel, colours: dict, style: dict, limits):
    """Fig. 3: ``panel`` (the Training Sets of Fig. 2) once per entry of ``colours``.

    ``colours``: {key: (values, label)} with keys of config ``figures.figure3`` giving each
    colour range; ``limits``: the parallax range of both axes [mas].
    """
    fig = common.new_figure(7.4, 7.0)
    axes = fig.subplots(2, 2, sharex=True, sharey=True)
    for ax, (key, (values, label)) in zip(axes.flat, colours.items()):
        points = _draw(ax, a, panel, values, style["cmap"], common.norm(style[key]), limits)
        fig.colorbar(points, ax=ax, label=label, shrink=0.9)
    for ax in axes[0]:
        ax.set_xlabel("")
    for ax in axes[:, 0]:
        ax.set_ylabel(SPEC_LABEL)
    return fig
