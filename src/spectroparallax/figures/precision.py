"""Fig. 5: where the spectrophotometric parallax beats Gaia's (HER19 Fig. 5)."""

import numpy as np

from . import common, star_cuts

DISTANCE_LABEL = r"distance $1/\varpi^{(\mathrm{sp})}$ [kpc]"
G_LABEL = r"Gaia $G$ [mag]"


def precision(a: dict, lab: dict, summary: dict, style: dict):
    """G magnitude and distance = 1 / spectrophotometric parallax, coloured by
    log10(sigma_Gaia / sigma_spec): positive (red on the default map) where ours is more precise.

    ``a``: :func:`spectroparallax.catalog.stats.catalog_arrays`; ``lab``:
    :func:`spectroparallax.figures.data.labels` of the Parent Sample (G [mag] and the columns of the
    style's star cuts); ``summary``: :func:`spectroparallax.catalog.stats.summary` of the same
    catalog (the quoted numbers, always over the whole catalog); ``style``: config
    ``figures.figure5``: ``x_axis`` distance (G down the y axis, bright stars at the top) or g
    (distance up the y axis, as the paper's script); ``g`` null = matplotlib's automatic range;
    ``cuts`` (:mod:`.star_cuts`), whose counts the figure states.
    """
    keep, removed = star_cuts.apply(style["cuts"], lab)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(a["spec"] > 0, 1.0 / a["spec"], np.nan)
        ratio = np.log10(a["gaia_err"] / a["spec_err"])
    distance, g, ratio = distance[keep], np.asarray(lab["g"], float)[keep], ratio[keep]
    fig = common.new_figure(5.6, 4.4)
    ax = fig.subplots()
    norm = common.norm(style["log_ratio"])
    if style["x_axis"] == "g":
        points = common.scatter(ax, g, distance, ratio, style["cmap"], norm, size=5)
        ax.set(ylim=style["distance"], xlabel=G_LABEL, ylabel=DISTANCE_LABEL)
        if style["g"] is not None:
            ax.set_xlim(style["g"])
        x, y, xlim, ylim = g, distance, ax.get_xlim(), style["distance"]
    else:
        points = common.scatter(ax, distance, g, ratio, style["cmap"], norm, size=5)
        ax.set(xlim=style["distance"], xlabel=DISTANCE_LABEL, ylabel=G_LABEL)
        ax.set_ylim(style["g"][::-1] if style["g"] is not None else ax.get_ylim()[::-1])
        x, y, xlim, ylim = distance, g, style["distance"], sorted(ax.get_ylim())
    text = (f"N = {int(np.isfinite(distance).sum())}\n"
            f"more precise than Gaia: {100 * summary['fraction_more_precise_than_gaia']:.0f}%\n"
            f"median $\\sigma^{{(\\mathrm{{sp}})}}/\\varpi^{{(\\mathrm{{sp}})}}$ = "
            f"{summary['median_fractional_uncertainty']:.3f}")
    if removed:
        text += "\n" + star_cuts.text(removed)
    outside = common.n_outside(x, y, xlim, ylim)
    if outside:
        text += f"\n{outside} outside the axes"
    no_gaia = int((np.isfinite(distance) & ~np.isfinite(ratio)).sum())
    if no_gaia:
        text += f"\n{no_gaia} grey: no Gaia parallax error"
    common.corner_text(ax, text, "upper right" if style["x_axis"] == "distance" else "upper left")
    fig.colorbar(points, ax=ax, extend="both",
                 label=r"$\log_{10}(\sigma^{(a)} / \sigma^{(\mathrm{sp})})$  (> 0: spectrophotometric more precise)")
    return fig
