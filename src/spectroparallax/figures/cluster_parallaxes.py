"""Fig. 4: Gaia and spectrophotometric parallaxes of cluster members against logg (HER19 Fig. 4)."""

import numpy as np

from spectroparallax.archives.columns import as_float
from . import common

#: Marker colours of the two kinds of parallax.
COLOURS = {"gaia": "tab:blue", "spec": "tab:orange"}
LABELS = {"gaia": "Gaia DR2 + offset", "spec": "spectrophotometric"}


def cluster_parallaxes(members, clusters: dict, means: dict):
    """One panel per cluster: each member's two parallaxes with error bars at its APOGEE logg,
    their inverse-variance-weighted means as vertical lines with +-1 sigma bands, and the
    literature parallax 1 / distance dashed.

    ``members``: :func:`spectroparallax.catalog.clusters.member_table`; ``clusters``: config.yaml
    ``clusters:``; ``means``: :func:`spectroparallax.catalog.clusters.mean_parallaxes`.
    """
    fig = common.new_figure(3.5 * len(clusters) + 0.4, 4.1)
    axes = np.atleast_1d(fig.subplots(1, len(clusters), sharey=True))
    names = np.asarray(members["cluster"], dtype=str)
    for ax, (name, cluster) in zip(axes, clusters.items()):
        rows = members[names == name]
        logg = as_float(rows["LOGG"])
        for shift, key, col in ((-0.02, "gaia", "Gaia_parallax"), (0.02, "spec", "spec_parallax")):
            value, error = as_float(rows[col]), as_float(rows[f"{col}_err"])
            mean, mean_err, n = means[name][key]
            ax.errorbar(value, logg + shift, xerr=error, fmt="o" if key == "gaia" else "s", ms=3.5,
                        color=COLOURS[key], elinewidth=0.8, capsize=0, label=f"{LABELS[key]} (per star)")
            if n:
                ax.axvline(mean, color=COLOURS[key], lw=1.2,
                           label=f"{LABELS[key]} mean")
                ax.axvspan(mean - mean_err, mean + mean_err, color=COLOURS[key], alpha=0.2, lw=0)
        ax.axvline(1.0 / cluster["distance"], color="k", ls="--", lw=1.0, label="literature 1 / distance")
        # Numbers in the title, not on the data: two lines per panel.
        means_text = ", ".join(
            f"{'Gaia' if key == 'gaia' else 'spec'} {means[name][key][0]:.3f} $\\pm$ {means[name][key][1]:.3f}"
            for key in ("gaia", "spec") if means[name][key][2])
        ax.set_title(f"{name} ({cluster['name']}), d = {cluster['distance']:g} kpc, {len(rows)} members\n"
                     + (f"{means_text} mas" if means_text else
                        "no usable parallaxes" if len(rows) else "no members in the config windows"))
        ax.set_xlabel("parallax [mas]")
    axes[0].set_ylabel(r"APOGEE $\log g$ [dex]")
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:   # a cluster without members lacks some entries: take the fullest legend
        h, lab = ax.get_legend_handles_labels()
        if len(h) > len(handles):
            handles, labels = h, lab
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    return fig
