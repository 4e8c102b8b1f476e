"""The cross-validation figure: held-out chi^2 and high-S/N scatter against lambda, per offset."""

import numpy as np

from . import common


def crossval(table, best: dict):
    """Held-out chi^2 (top) and robust fractional scatter of the high-S/N training stars (bottom)
    against lambda, one line per parallax offset; the chosen setting (``best``, crossval's
    best.yaml: lambda, offset) is ringed. When the table has ``delta_chi2_se``, the chi^2 points
    carry it as error bars: the standard error of each setting's difference from the lowest chi^2.

    ``table``: results/<survey>/crossval/crossval.csv (lambda, offset [mas], chi2, scatter_high_snr, ...).
    """
    fig = common.new_figure(4.8, 5.4)
    axes = fig.subplots(2, 1, sharex=True)
    lam, offset = np.asarray(table["lambda"], float), np.asarray(table["offset"], float)
    chosen = (lam == best["lambda"]) & (offset == best["offset"])
    if chosen.sum() != 1:
        raise ValueError(f"best.yaml's setting lambda={best['lambda']}, offset={best['offset']} is "
                         f"{'missing from' if not chosen.any() else 'repeated in'} crossval.csv; rerun the crossval rule")
    log_x = bool((lam > 0).all())
    for ax, col, label in ((axes[0], "chi2", r"held-out $\chi^2$ (eq. 2)"),
                           (axes[1], "scatter_high_snr", "robust fractional scatter,\nhigh-S/N training stars")):
        values = np.asarray(table[col], float)
        yerr = (np.asarray(table["delta_chi2_se"], float)
                if col == "chi2" and "delta_chi2_se" in table.colnames else None)
        for off in np.unique(offset):
            rows = np.flatnonzero(offset == off)
            rows = rows[np.argsort(lam[rows])]
            ax.errorbar(lam[rows], values[rows], yerr=None if yerr is None else yerr[rows], fmt="o-", ms=4,
                        capsize=2, label=f"offset {off:g} mas")
        ax.plot(lam[chosen], values[chosen], "o", ms=13, mfc="none", mec="k", mew=1.5,
                label=f"chosen: $\\lambda$ = {best['lambda']:g}, offset {best['offset']:g} mas")
        ax.set_ylabel(label)
        if log_x:
            ax.set_xscale("log")
    axes[1].set_xlabel(r"L1 strength $\lambda$ (eq. 3)")
    axes[0].legend(frameon=False)
    n = int(np.asarray(table["n_high_snr"])[chosen][0]) if "n_high_snr" in table.colnames else None
    if n is not None:
        common.corner_text(axes[1], f"N = {n} high-S/N stars at the chosen setting", "upper left")
    return fig
