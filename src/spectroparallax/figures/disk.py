"""Fig. 6: the Milky Way disk in Galactocentric x-y with velocity arrows by [Fe/H] (HER19 Fig. 6)."""

import numpy as np
from matplotlib.patches import Circle

from . import common, star_cuts


def disk_map(gc: dict, fe_h, use, sun: tuple, style: dict, removed: dict | None = None):
    """Arrows of the in-plane Galactocentric velocity (vx, vy) at each star's (x, y), coloured by
    APOGEE [Fe/H]; rings every ``ring_spacing`` kpc around the Galactic centre (solid) and the Sun
    (dotted).

    ``gc``: :func:`spectroparallax.catalog.galactic.to_galactocentric`; ``use``: stars to draw (near the
    plane and through the style's star cuts); ``sun``: the Sun's (x, y, z) [kpc]; ``style``: config
    ``figures.figure6``; ``removed``: the star cuts' counts (:func:`.star_cuts.apply`), stated on the map.
    """
    fig = common.new_figure(6.4, 5.6)
    ax = fig.subplots()
    fe_h = np.asarray(fe_h, float)
    # Arrow length: arrow_length kpc for arrow_speed km/s (quiver's scale is data units per arrow unit).
    scale = style["arrow_speed"] / style["arrow_length"]
    arrows = ax.quiver(gc["x"][use], gc["y"][use], gc["vx"][use], gc["vy"][use], fe_h[use], cmap=style["cmap"],
                       norm=common.norm(style["fe_h"]), angles="xy", scale_units="xy", scale=scale,
                       width=0.0025, rasterized=True)
    no_feh = use & ~np.isfinite(fe_h)
    if no_feh.any():
        ax.quiver(gc["x"][no_feh], gc["y"][no_feh], gc["vx"][no_feh], gc["vy"][no_feh], color="0.6", angles="xy",
                  scale_units="xy", scale=scale, width=0.0025, rasterized=True)
    ax.quiverkey(arrows, 0.80, 0.05, style["arrow_speed"], f"{style['arrow_speed']:g} km/s", labelpos="N",
                 color="k", coordinates="axes")
    corners = np.array([(x, y) for x in style["x"] for y in style["y"]])
    r_max = max(np.hypot(*corners.T).max(), np.hypot(*(corners - sun[:2]).T).max())
    for r in np.arange(style["ring_spacing"], r_max + style["ring_spacing"], style["ring_spacing"]):
        ax.add_patch(Circle((0, 0), r, fill=False, color="0.4", lw=0.6))
        ax.add_patch(Circle(sun[:2], r, fill=False, color="0.4", lw=0.6, ls=":"))
    ax.plot(0, 0, "k+", ms=9, label="Galactic centre (solid rings)")
    ax.plot(sun[0], sun[1], marker="o", mfc="gold", mec="k", ls="none", ms=7, label="Sun (dotted rings)")
    ax.set(xlim=style["x"], ylim=style["y"], aspect="equal", xlabel=r"Galactocentric $x$ [kpc]",
           ylabel=r"Galactocentric $y$ [kpc]")
    ax.legend(loc="upper left", fontsize="small", framealpha=0.9)
    text = f"N = {int(np.sum(use))} stars near the plane\nrings every {style['ring_spacing']:g} kpc"
    if removed:
        text += "\n" + star_cuts.text(removed)
    common.corner_text(ax, text, "upper right")
    fig.colorbar(arrows, ax=ax, label="APOGEE [Fe/H] [dex]", extend="both", shrink=0.85)
    return fig
