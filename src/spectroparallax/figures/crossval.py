"""The cross-validation figure: held-out score (chi^2 or deviance) and high-S/N scatter against lambda."""

import os
import textwrap

import numpy as np
import yaml

from spectroparallax.model.crossval import grid_edge_warning

from . import common


def _chosen(table, best: dict) -> np.ndarray:
    """Boolean mask of the row of ``table`` that is ``best``'s setting (exactly one, or ValueError)."""
    lam, offset = np.asarray(table["lambda"], float), np.asarray(table["offset"], float)
    chosen = (lam == best["lambda"]) & (offset == best["offset"])
    if chosen.sum() != 1:
        raise ValueError(f"best.yaml's setting lambda={best['lambda']}, offset={best['offset']} is "
                         f"{'missing from' if not chosen.any() else 'repeated in'} crossval.csv; rerun the crossval rule")
    return chosen


def edge_warning(table, best: dict) -> str | None:
    """The crossval rule's warning when the chosen lambda is the edge of ``model.lambda_grid``, else None."""
    return grid_edge_warning(table, int(np.flatnonzero(_chosen(table, best))[0]))


def edge_warning_of_run(table_path, best_path) -> str | None:
    """:func:`edge_warning` of a run's crossval.csv and best.yaml; None while either is missing."""
    if not (os.path.exists(table_path) and os.path.exists(best_path)):
        return None
    from astropy.table import Table

    with open(best_path) as f:
        return edge_warning(Table.read(table_path), yaml.safe_load(f))


def _sig3(x) -> str:
    return f"{float(x):.3g}"


def _flag(x) -> bool:
    """A bool column's value; a CSV read back by astropy may hold the words True/False."""
    return str(x).strip().lower() in ("true", "1")


#: The columns of crossval.csv shown in the report: (header, format). The header has spaces so that
#: the browser can wrap it; chi^2 differences matter to 0.1, fractions to 3 significant digits.
DISPLAY = {
    "lambda": ("lambda", "{:g}".format),
    "offset": ("offset [mas]", "{:g}".format),
    "chi2": ("chi2", "{:.1f}".format),
    "n_chi2": ("n chi2", "{:d}".format),
    "delta_chi2": ("delta chi2", "{:.1f}".format),
    "delta_chi2_se": ("delta chi2 se", "{:.1f}".format),
    "epsilon": ("epsilon", _sig3),
    "deviance": ("deviance", "{:.1f}".format),
    "delta_deviance": ("delta deviance", "{:.1f}".format),
    "delta_deviance_se": ("delta deviance se", "{:.1f}".format),
    "scatter_high_snr": ("scatter high S/N", _sig3),
    "bias_high_snr": ("bias high S/N", _sig3),
    "n_high_snr": ("n high S/N", "{:d}".format),
    "bias_high_pred_snr": ("bias high pred. S/N", _sig3),
    "zero_fraction": ("zero fraction", _sig3),
    "small_fraction": ("|theta| < 1e-4", _sig3),
    "converged": ("converged", lambda v: "yes" if _flag(v) else "NO"),
    "chosen": ("chosen", lambda v: "chosen" if _flag(v) else ""),
}


def display_table(table) -> list[list[str]]:
    """crossval.csv as the report shows it: the columns of :data:`DISPLAY` that the table has,
    rounded; a header row, then one row of strings per setting."""
    names = [name for name in DISPLAY if name in table.colnames]
    rows = [[DISPLAY[name][0] for name in names]]
    for row in table:
        rows.append([DISPLAY[name][1](row[name].item() if hasattr(row[name], "item") else row[name])
                     for name in names])
    return rows


#: The top panel's label for each held-out score crossval can choose by (switches.cv_score).
SCORE_LABELS = {"chi2": r"held-out $\chi^2$ (eq. 2)",
                "deviance": "held-out deviance\n(Gaia errors + intrinsic scatter)"}


def crossval(table, best: dict):
    """Held-out score the setting was chosen by (top: chi^2 of eq. 2, or the deviance when the table
    has ``delta_deviance``; switches.cv_score) and robust fractional scatter of the high-S/N training stars (bottom)
    against lambda, one line per parallax offset; the chosen setting (``best``, crossval's
    best.yaml: lambda, offset) is ringed; when it is the edge of the lambda grid, the warning of
    :func:`edge_warning` is printed across the top of the figure. When the table has ``delta_<score>_se``, the top points
    carry it as error bars: the standard error of each setting's difference from the lowest score.

    ``table``: results/<survey>/crossval/crossval.csv (lambda, offset [mas], chi2, scatter_high_snr, ...).
    """
    fig = common.new_figure(4.8, 5.4)
    axes = fig.subplots(2, 1, sharex=True)
    lam, offset = np.asarray(table["lambda"], float), np.asarray(table["offset"], float)
    chosen = _chosen(table, best)
    log_x = bool((lam > 0).all())
    score = "deviance" if "delta_deviance" in table.colnames else "chi2"
    for ax, col, label in ((axes[0], score, SCORE_LABELS[score]),
                           (axes[1], "scatter_high_snr", "robust fractional scatter,\nhigh-S/N training stars")):
        values = np.asarray(table[col], float)
        yerr = (np.asarray(table[f"delta_{score}_se"], float)
                if col == score and f"delta_{score}_se" in table.colnames else None)
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
    if (warning := edge_warning(table, best)):
        fig.suptitle(textwrap.fill(f"Warning: {warning}", 70), color="firebrick", fontsize="small")
    return fig
