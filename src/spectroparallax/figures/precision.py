"""Fig. 5: where the spectrophotometric parallax beats Gaia's (HER19 Fig. 5)."""

import numpy as np

from . import common


def precision(a: dict, g, summary: dict, style: dict):
    """G magnitude against distance = 1 / spectrophotometric parallax, coloured by
    log10(sigma_Gaia / sigma_spec): positive (red on the default map) where ours is more precise.

    ``a``: :func:`spectroparallax.catalog.stats.catalog_arrays`; ``g``: Gaia G [mag] per star;
    ``summary``: :func:`spectroparallax.catalog.stats.summary` of the same catalog (the quoted numbers);
    ``style``: config ``figures.figure5``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(a["spec"] > 0, 1.0 / a["spec"], np.nan)
        ratio = np.log10(a["gaia_err"] / a["spec_err"])
    fig = common.new_figure(5.6, 4.4)
    ax = fig.subplots()
    points = common.scatter(ax, distance, g, ratio, style["cmap"], common.norm(style["log_ratio"]), size=5)
    ax.set(xlim=style["distance"], ylim=style["g"][::-1], xlabel=r"distance $1/\varpi^{(\mathrm{sp})}$ [kpc]",
           ylabel=r"Gaia $G$ [mag]")
    text = (f"N = {int(np.isfinite(distance).sum())}\n"
            f"more precise than Gaia: {100 * summary['fraction_more_precise_than_gaia']:.0f}%\n"
            f"median $\\sigma^{{(\\mathrm{{sp}})}}/\\varpi^{{(\\mathrm{{sp}})}}$ = "
            f"{summary['median_fractional_uncertainty']:.3f}")
    outside = common.n_outside(distance, g, style["distance"], style["g"])
    if outside:
        text += f"\n{outside} outside the axes"
    no_gaia = int((np.isfinite(distance) & ~np.isfinite(ratio)).sum())
    if no_gaia:
        text += f"\n{no_gaia} grey: no Gaia parallax error"
    common.corner_text(ax, text, "upper right")
    fig.colorbar(points, ax=ax, extend="both",
                 label=r"$\log_{10}(\sigma^{(a)} / \sigma^{(\mathrm{sp})})$  (> 0: spectrophotometric more precise)")
    return fig
