"""What the figures plot, read back from the drawn artists and compared with the catalog.

The expected values are computed here from the catalog and Parent Sample columns directly, not
through the figure modules' helpers, so swapped axes, a wrong column or an inverted colour scale
fail. The figures are built as the rule scripts build them (test_figures._figures).
"""

import numpy as np
import pytest
from astropy.table import Table
from matplotlib.collections import PathCollection
from matplotlib.colors import LogNorm

from test_figures import _figures, mock  # noqa: F401  (mock: the module fixture it builds on)


@pytest.fixture(scope="module")
def built(mock):
    work, cfg, cat, parent = mock
    return _figures(*mock), cfg, cat, parent


def _col(table: Table, name: str) -> np.ndarray:
    """A column as floats, NaN where masked or -9999 (allStar's missing value)."""
    values = np.ma.filled(np.ma.asarray(table[name], dtype=float), np.nan)
    return np.where(values == -9999, np.nan, values)


def _coloured(ax) -> PathCollection:
    """The coloured scatter of an axes (grey NaN-colour points are a separate, uncoloured one)."""
    found = [c for c in ax.collections if isinstance(c, PathCollection) and c.get_array() is not None]
    assert len(found) == 1, [type(c) for c in ax.collections]
    return found[0]


def _same_rows(got: np.ndarray, want: np.ndarray) -> None:
    """The same set of rows (order free), compared to float32 precision."""
    assert got.shape == want.shape, (got.shape, want.shape)
    order = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(got), order(want), rtol=1e-6)


def _data_axes(fig):
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


def test_figure2_plots_gaia_across_and_ours_up_coloured_by_snr(built):
    figures, cfg, cat, parent = built
    gaia, spec, snr = _col(cat, "Gaia_parallax"), _col(cat, "spec_parallax"), _col(parent, "SNR")
    training = np.asarray(cat["training_set"], bool)
    both = np.isfinite(gaia) & np.isfinite(spec) & np.isfinite(snr)
    style = cfg["figures"]["figure2"]
    parent_ax, training_ax, _ = _data_axes(figures["figure2"])
    for ax, use in ((parent_ax, both), (training_ax, both & training)):
        points = _coloured(ax)
        _same_rows(np.column_stack([points.get_offsets(), points.get_array()]),
                   np.column_stack([gaia[use], spec[use], snr[use]]))
        assert isinstance(points.norm, LogNorm)
        assert (points.norm.vmin, points.norm.vmax) == tuple(style["snr"])
        assert points.get_cmap().name == style["cmap"]
        assert ax.get_xlim() == tuple(style["parallax"]) and ax.get_ylim() == tuple(style["parallax"])
        assert "Gaia" in ax.get_xlabel()
    assert "spectrophotometric" in parent_ax.get_ylabel()


def test_figure1_plots_the_colours_of_eq6_and_eq7_coloured_by_logg(built):
    figures, cfg, cat, parent = built
    bp_rp = _col(parent, "phot_bp_mean_mag") - _col(parent, "phot_rp_mean_mag")
    j_k, h_w2 = _col(parent, "J") - _col(parent, "K"), _col(parent, "H") - _col(parent, "w2mpro")
    logg = _col(parent, "LOGG")
    training = np.asarray(parent["training"], bool)
    style = cfg["figures"]["figure1"]
    axes = _data_axes(figures["figure1"])
    for ax, y, use in zip(axes, (j_k, h_w2, j_k, h_w2), (True, True, training, training)):
        use = np.broadcast_to(use, logg.shape) & np.isfinite(logg)
        points = _coloured(ax)
        _same_rows(np.column_stack([points.get_offsets(), points.get_array()]),
                   np.column_stack([bp_rp[use], y[use], logg[use]]))
        assert (points.norm.vmin, points.norm.vmax) == tuple(style["logg"])
        assert points.get_cmap().name == style["cmap"]


def test_figure5_plots_distance_across_and_g_down_coloured_by_precision_ratio(built):
    figures, cfg, cat, parent = built
    spec, spec_err = _col(cat, "spec_parallax"), _col(cat, "spec_parallax_err")
    gaia_err, g = _col(cat, "Gaia_parallax_err"), _col(parent, "phot_g_mean_mag")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log10(gaia_err / spec_err)
    use = np.isfinite(ratio) & (spec > 0)
    style = cfg["figures"]["figure5"]
    (ax,) = _data_axes(figures["figure5"])
    points = _coloured(ax)
    _same_rows(np.column_stack([points.get_offsets(), points.get_array()]),
               np.column_stack([1.0 / spec[use], g[use], ratio[use]]))
    assert (points.norm.vmin, points.norm.vmax) == tuple(style["log_ratio"])
    # Bright stars at the top, as in the paper: the G axis runs downwards.
    assert ax.get_ylim() == tuple(style["g"][::-1]) and ax.get_ylim()[0] > ax.get_ylim()[1]


def test_figure6_places_stars_at_one_over_our_parallax_and_colours_them_by_metallicity(built):
    """Positions recomputed here with astropy from the catalog's coordinates and 1 / spec_parallax
    (never Gaia's), in the config's Galactocentric frame."""
    from astropy import units as u
    from astropy.coordinates import CartesianDifferential, Galactocentric, SkyCoord

    figures, cfg, cat, parent = built
    frame_cfg = cfg["galactocentric"]
    frame = Galactocentric(galcen_distance=frame_cfg["galcen_distance"] * u.kpc, z_sun=frame_cfg["z_sun"] * u.kpc,
                           galcen_v_sun=CartesianDifferential(frame_cfg["galcen_v_sun"] * u.km / u.s))
    spec = _col(cat, "spec_parallax")
    pmra, pmdec, rv = (_col(parent, c) for c in ("pmra", "pmdec", "VHELIO_AVG"))
    ok = (spec > 0) & np.isfinite(pmra) & np.isfinite(pmdec) & np.isfinite(rv)
    star = SkyCoord(ra=_col(cat, "ra")[ok] * u.deg, dec=_col(cat, "dec")[ok] * u.deg,
                    distance=(1.0 / spec[ok]) * u.kpc, pm_ra_cosdec=pmra[ok] * u.mas / u.yr,
                    pm_dec=pmdec[ok] * u.mas / u.yr, radial_velocity=rv[ok] * u.km / u.s).transform_to(frame)
    x, y, z = (getattr(star, c).to_value(u.kpc) for c in ("x", "y", "z"))
    fe_h = _col(parent, "FE_H")[ok]
    (ax,) = _data_axes(figures["figure6"])
    arrows = [q for q in ax.collections if q.get_array() is not None and len(q.get_array())]
    assert len(arrows) == 1
    drawn = np.column_stack([arrows[0].get_offsets(), np.ma.filled(arrows[0].get_array().astype(float), np.nan)])
    # The figure draws the stars near the plane; every one drawn must be one of ours, at its place.
    style = cfg["figures"]["figure6"]
    near = (np.abs(z) < style["z_max"]) | (np.abs(z) / np.hypot(x, y) < np.tan(np.deg2rad(style["max_angle"])))
    want = np.column_stack([x, y, fe_h])[near]   # a star without [Fe/H] is drawn too (grey)
    _same_rows(drawn, want)
    assert (arrows[0].norm.vmin, arrows[0].norm.vmax) == tuple(style["fe_h"])
    # The Sun (gold marker) sits at x = -R0 in astropy's frame.
    sun = [line for line in ax.lines if line.get_marker() == "o"][0]
    assert sun.get_xdata()[0] == pytest.approx(-np.sqrt(frame_cfg["galcen_distance"] ** 2 - frame_cfg["z_sun"] ** 2),
                                               abs=1e-3)
