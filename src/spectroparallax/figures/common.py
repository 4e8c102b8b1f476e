"""Shared plotting pieces: backend and style, saving, colour bars, statistics labels.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state), so building many in
one process leaks nothing and needs no display.
"""

import json
import logging
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from spectroparallax.io import atomic


def setup(font_size: float = 9.0) -> None:
    """Select the non-interactive Agg backend and the figures' base style (rule scripts call this)."""
    matplotlib.use("Agg")
    matplotlib.rcParams.update({
        "font.size": font_size, "axes.labelsize": font_size, "axes.titlesize": font_size,
        "legend.fontsize": font_size - 1, "xtick.labelsize": font_size - 1, "ytick.labelsize": font_size - 1,
        "xtick.direction": "in", "ytick.direction": "in", "xtick.top": True, "ytick.right": True,
    })
    # Rule scripts log at INFO to their log file; fontTools would fill it with font subsetting.
    logging.getLogger("fontTools").setLevel(logging.WARNING)


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout (no overlapping labels)."""
    return Figure(figsize=(width, height), layout="constrained")


#: Where :func:`save` writes its ``about`` dict (as JSON) in each file's metadata.
ABOUT_KEY = {"pdf": "Subject", "png": "Description"}


def save(fig: Figure, pdf, png, dpi: int, about: dict | None = None) -> None:
    """Write ``fig`` as PDF and PNG, each atomically (dense point layers are rasterized in the PDF).

    ``about``: what drew the figure (e.g. its style and the stars its cuts removed), written as JSON
    into the PDF's Subject and the PNG's Description metadata (:func:`read_about` reads it back).
    """
    for path, kwargs in ((pdf, {}), (png, {"dpi": dpi})):
        fmt = Path(path).suffix.lstrip(".")
        if about is not None:
            # Key order kept: the star cuts in the order they are made.
            kwargs["metadata"] = {ABOUT_KEY[fmt]: json.dumps(about)}
        with atomic.atomic_path(path, suffix=Path(path).suffix) as tmp:
            fig.savefig(tmp, format=fmt, **kwargs)


def read_about(png) -> dict:
    """The ``about`` dict :func:`save` wrote into a PNG ({} if none)."""
    from PIL import Image

    with Image.open(png) as image:
        text = image.text.get(ABOUT_KEY["png"])
    return json.loads(text) if text else {}


def norm(limits, log: bool = False):
    """Colour normalization over ``limits`` = (low, high), linear or logarithmic."""
    return (LogNorm if log else Normalize)(vmin=limits[0], vmax=limits[1])


def scatter(ax, x, y, c, cmap: str, norm_, size: float = 4.0):
    """Points coloured by ``c``; those with a NaN colour are drawn grey, not dropped.

    Returns the mappable for a colour bar. Points are rasterized so PDFs stay small.
    """
    x, y, c = np.asarray(x, float), np.asarray(y, float), np.asarray(c, float)
    nan = ~np.isfinite(c)
    if nan.any():
        ax.scatter(x[nan], y[nan], s=size, c="0.6", lw=0, rasterized=True)
    return ax.scatter(x[~nan], y[~nan], s=size, c=c[~nan], cmap=cmap, norm=norm_, lw=0, rasterized=True)


def stats_text(n: int, scatter_: float | None = None, bias: float | None = None) -> str:
    """N, robust scatter and median bias of (spec - Gaia) / Gaia as printed on the figures."""
    parts = [f"N = {n}"]
    if scatter_ is not None:
        parts.append(f"robust fractional scatter = {scatter_:.3f}")
    if bias is not None:
        parts.append(f"median fractional bias = {bias:+.3f}")
    return "\n".join(parts)


def corner_text(ax, text: str, loc: str = "upper left") -> None:
    """A boxed text in a corner of ``ax`` (``loc``: 'upper left', 'lower right', ...)."""
    vert, horiz = loc.split()
    x = 0.04 if horiz == "left" else 0.96
    y = 0.96 if vert == "upper" else 0.04
    ax.text(x, y, text, transform=ax.transAxes, ha=horiz, va="top" if vert == "upper" else "bottom",
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9})


def n_outside(x, y, xlim, ylim) -> int:
    """Number of points with finite (x, y) that fall outside the axis limits."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    finite = np.isfinite(x) & np.isfinite(y)
    inside = (x >= xlim[0]) & (x <= xlim[1]) & (y >= ylim[0]) & (y <= ylim[1])
    return int((finite & ~inside).sum())
