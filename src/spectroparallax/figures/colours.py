"""Fig. 1: colour-colour diagrams of the Parent Sample and the Training Sets (HER19 Fig. 1)."""

import numpy as np

from . import common

#: Axis labels [mag].
BP_RP, J_K, H_W2 = r"$G_\mathrm{BP} - G_\mathrm{RP}$ [mag]", r"$J - K_s$ [mag]", r"$H - W_2$ [mag]"


def colour_colour(lab: dict, cuts: dict, style: dict):
    """BP-RP vs J-K and BP-RP vs H-W2, Parent Sample (top) and Training Sets (bottom), by logg.

    ``lab``: :func:`spectroparallax.figures.data.labels` of the Parent Sample; ``cuts``:
    config.yaml ``sample.colour_cuts`` (eq. 6 and 7, drawn as grey lines); ``style``:
    ``figures.figure1`` (axis and colour ranges [mag, dex], colour map).
    """
    fig = common.new_figure(7.0, 6.2)
    axes = fig.subplots(2, 2, sharex=True)
    norm = common.norm(style["logg"])
    x_line = np.array(style["bp_rp"], dtype=float)
    rows = (("Parent Sample", np.ones_like(lab["training"])), ("Training Sets (A + B)", lab["training"]))
    for (title, use), row in zip(rows, axes):
        for ax, key, ylabel, ylim in ((row[0], "j_k", J_K, style["j_k"]), (row[1], "h_w2", H_W2, style["h_w2"])):
            points = common.scatter(ax, lab["bp_rp"][use], lab[key][use], lab["logg"][use], style["cmap"], norm)
            if key == "j_k":
                ax.plot(x_line, cuts["jk_intercept"] + cuts["jk_slope"] * x_line, color="0.5", lw=1.2,
                        label=f"eq. 6: $J-K_s$ = {cuts['jk_intercept']} + {cuts['jk_slope']} "
                              r"$(G_\mathrm{BP}-G_\mathrm{RP})$")
            else:
                ax.axhline(cuts["hw2_min"], color="0.5", lw=1.2, label=f"eq. 7: $H-W_2$ = {cuts['hw2_min']}")
            ax.set(xlim=style["bp_rp"], ylim=ylim, ylabel=ylabel)
            text = f"{title}\nN = {int(use.sum())}"
            outside = common.n_outside(lab["bp_rp"][use], lab[key][use], style["bp_rp"], ylim)
            if outside:
                text += f" ({outside} outside the axes)"
            common.corner_text(ax, text)
    for ax in axes[1]:
        ax.set_xlabel(BP_RP)
    handles = axes[0, 0].get_legend_handles_labels()[0] + axes[0, 1].get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False,
               title="colour cuts of the Parent Sample (grey lines)")
    fig.colorbar(points, ax=axes, label=r"APOGEE $\log g$ [dex]", shrink=0.8)
    return fig
