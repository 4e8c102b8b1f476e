"""The model figure: theta of the chosen models, spectral pixels and photometric bands."""

import numpy as np

from . import common


def coefficients(models: dict, setting: str = ""):
    """Spectral coefficients against wavelength, one panel per model (the exact zeros of the L1
    fit are the grey marks on the zero line), then the photometric coefficients by band name.

    ``models``: {label: model Table (spectroparallax.model.files.read_model)} with columns name,
    kind ('offset', 'photometry', 'spectrum'), wavelength [Angstrom] and theta; ``setting``: a
    line for the figure title (e.g. the chosen lambda and offset).
    """
    fig = common.new_figure(7.2, 2.0 * len(models) + 2.6)
    axes = fig.subplots(len(models) + 1, 1, height_ratios=[1.0] * len(models) + [1.1])
    if setting:
        fig.suptitle(setting)
    for ax, (label, m) in zip(axes, models.items()):
        spec = np.asarray(m["kind"], dtype=str) == "spectrum"
        wave, theta = np.asarray(m["wavelength"], float)[spec], np.asarray(m["theta"], float)[spec]
        zero = theta == 0
        ax.axhline(0, color="0.7", lw=0.8, zorder=0)
        ax.plot(wave[zero], theta[zero], "|", color="0.6", ms=3, rasterized=True)
        ax.vlines(wave[~zero], 0, theta[~zero], color="tab:blue", lw=0.8, rasterized=True)
        ax.plot(wave[~zero], theta[~zero], ".", color="tab:blue", ms=3)
        ax.set(xlabel=r"wavelength [$\AA$]", ylabel=r"$\theta$ per $\ln f$")
        ax.set_title(f"{label}: {(~zero).sum()} of {zero.size} spectral coefficients non-zero (blue), "
                     f"{zero.sum()} exactly zero (grey)", loc="left")
    ax = axes[-1]
    width = 0.8 / len(models)
    for k, (label, m) in enumerate(models.items()):
        kind = np.asarray(m["kind"], dtype=str)
        phot = kind == "photometry"
        names = np.asarray(m["name"], dtype=str)[phot]
        theta = np.asarray(m["theta"], float)
        intercept = theta[kind == "offset"]
        x = np.arange(names.size) + (k - (len(models) - 1) / 2) * width
        const = f" (constant term {intercept[0]:+.3f})" if intercept.size else ""
        ax.bar(x, theta[phot], width=width, label=f"{label}{const}")
    ax.set_xticks(np.arange(names.size), names)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="photometric band", ylabel=r"$\theta$ [ln(mas) / mag]")
    ax.legend(fontsize="small", loc="best")
    return fig
