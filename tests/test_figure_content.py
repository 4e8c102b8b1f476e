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


def _galactocentric(cfg, cat, parent):
    """The stars with a positive spec_parallax and full motions, placed with astropy at 1 / spec_parallax
    (never Gaia's) in the config's Galactocentric frame; returns (coordinates, the rows used)."""
    from astropy import units as u
    from astropy.coordinates import CartesianDifferential, Galactocentric, SkyCoord

    frame_cfg = cfg["galactocentric"]
    frame = Galactocentric(galcen_distance=frame_cfg["galcen_distance"] * u.kpc, z_sun=frame_cfg["z_sun"] * u.kpc,
                           galcen_v_sun=CartesianDifferential(frame_cfg["galcen_v_sun"] * u.km / u.s))
    spec = _col(cat, "spec_parallax")
    pmra, pmdec, rv = (_col(parent, c) for c in ("pmra", "pmdec", "VHELIO_AVG"))
    ok = (spec > 0) & np.isfinite(pmra) & np.isfinite(pmdec) & np.isfinite(rv)
    star = SkyCoord(ra=_col(cat, "ra")[ok] * u.deg, dec=_col(cat, "dec")[ok] * u.deg,
                    distance=(1.0 / spec[ok]) * u.kpc, pm_ra_cosdec=pmra[ok] * u.mas / u.yr,
                    pm_dec=pmdec[ok] * u.mas / u.yr, radial_velocity=rv[ok] * u.km / u.s).transform_to(frame)
    return star, ok


def test_figure6_places_stars_at_one_over_our_parallax_and_colours_them_by_metallicity(built):
    """Positions recomputed here with astropy from the catalog's coordinates and 1 / spec_parallax
    (never Gaia's), in the config's Galactocentric frame."""
    from astropy import units as u

    figures, cfg, cat, parent = built
    star, ok = _galactocentric(cfg, cat, parent)
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
    frame_cfg = cfg["galactocentric"]
    assert sun.get_xdata()[0] == pytest.approx(-np.sqrt(frame_cfg["galcen_distance"] ** 2 - frame_cfg["z_sun"] ** 2),
                                               abs=1e-3)


# Figs. 3 and 4 are read back from the figure their rule script builds: the script runs here as
# Snakemake runs it (workflow/scripts/figures/<name>.py with a ``snakemake`` object), its params
# taken from config.yaml as workflow/rules/figures.smk passes them, and common.save hands the
# figure to the test instead of writing files. A mistake in the script (a label paired with the
# wrong column, the parallaxes swapped) therefore fails here, not only one in the figure module.

def _rule_figure(name, monkeypatch, params: dict, inputs: dict):
    import runpy
    from types import SimpleNamespace

    from spectroparallax.figures import common
    from spectroparallax.io import logs

    from conftest import REPO

    saved = []
    monkeypatch.setattr(logs, "job_logging", lambda snakemake: None)   # the log file is the rule's business
    monkeypatch.setattr(common, "save", lambda fig, pdf, png, dpi, about=None: saved.append(fig))
    snakemake = SimpleNamespace(input=SimpleNamespace(**inputs), output=SimpleNamespace(pdf="x.pdf", png="x.png"),
                                params=SimpleNamespace(dpi=72, **params), log=["x.log"], rule=name)
    runpy.run_path(str(REPO / f"workflow/scripts/figures/{name}.py"), init_globals={"snakemake": snakemake})
    assert len(saved) == 1
    return saved[0]


#: Fig. 3's panels in the paper's order: config figures.figure3 key, a piece of the colour bar's
#: label, and the Parent Sample column(s) its colour must be (a pair: their difference).
FIGURE3_PANELS = [("teff", "T_\\mathrm{eff}", "TEFF"), ("logg", "\\log g", "LOGG"),
                  ("fe_h", "[Fe/H]", "FE_H"), ("h_w2", "H - W_2", ("H", "w2mpro"))]


def test_figure3_plots_the_training_panel_once_per_label_coloured_by_that_label(mock_run, mock, monkeypatch):
    work, cfg = mock_run
    _, _, cat, parent = mock
    fig_cfg = cfg["figures"]
    fig = _rule_figure("figure3", monkeypatch,
                       {"style": fig_cfg["figure3"], "parallax": fig_cfg["figure2"]["parallax"],
                        "snr_min": fig_cfg["high_snr_min"], "font_size": fig_cfg["font_size"]},
                       {"catalog": work / "results/mock/catalog/spectrophotometric_parallaxes.fits",
                        "parent": work / "results/mock/samples/parent.fits"})
    gaia, spec = _col(cat, "Gaia_parallax"), _col(cat, "spec_parallax")
    training = np.asarray(cat["training_set"], bool) & np.isfinite(gaia) & np.isfinite(spec)
    assert training.sum() >= 50
    style = fig_cfg["figure3"]
    axes = _data_axes(fig)
    assert len(axes) == len(FIGURE3_PANELS)
    for ax, (key, label, column) in zip(axes, FIGURE3_PANELS):
        colour = (_col(parent, column) if isinstance(column, str)
                  else _col(parent, column[0]) - _col(parent, column[1]))
        points = _coloured(ax)
        assert label in points.colorbar.ax.get_ylabel(), (key, points.colorbar.ax.get_ylabel())
        use = training & np.isfinite(colour)
        _same_rows(np.column_stack([points.get_offsets(), points.get_array()]),
                   np.column_stack([gaia[use], spec[use], colour[use]]))
        # Stars without the label are drawn too, uncoloured: every training star is on every panel.
        every = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
        _same_rows(np.asarray(every), np.column_stack([gaia[training], spec[training]]))
        assert (points.norm.vmin, points.norm.vmax) == tuple(style[key]), key
        assert points.get_cmap().name == style["cmap"]
        assert ax.get_xlim() == tuple(fig_cfg["figure2"]["parallax"]) == ax.get_ylim()


def test_figure4_plots_each_members_two_parallaxes_with_errors_and_one_over_distance(figures_run, monkeypatch):
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    work, cfg, _ = figures_run
    members_path = work / "results/mock/clusters/members.ecsv"
    fig = _rule_figure("figure4", monkeypatch, {"clusters": cfg["clusters"], "font_size": cfg["figures"]["font_size"]},
                       {"members": members_path})
    members = Table.read(members_path)
    cat = Table.read(work / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    parent = Table.read(work / "results/mock/samples/parent.fits")
    row_of = {star.strip(): i for i, star in enumerate(np.asarray(cat["2MASS_ID"], str))}
    names = np.asarray(members["cluster"], str)
    axes = _data_axes(fig)
    assert [ax.get_title().split()[0] for ax in axes] == list(cfg["clusters"])
    drawn_members = 0
    for ax, (name, cluster) in zip(axes, cfg["clusters"].items()):
        rows = [row_of[star.strip()] for star in np.asarray(members["2MASS_ID"], str)[names == name]]
        # The member table is the catalog's rows of stars inside the config's windows.
        centre = SkyCoord(cluster["ra"] * u.deg, cluster["dec"] * u.deg)
        stars = SkyCoord(_col(cat, "ra")[rows] * u.deg, _col(cat, "dec")[rows] * u.deg)
        assert (stars.separation(centre).deg < cluster["radius"]).all()
        assert (np.abs(_col(parent, "VHELIO_AVG")[rows] - cluster["rv"]) < cluster["rv_window"]).all()
        assert (np.hypot(_col(parent, "pmra")[rows] - cluster["pmra"], _col(parent, "pmdec")[rows] - cluster["pmdec"])
                < cluster["pm_radius"]).all()
        assert len(rows) >= 3, name   # the default mock puts members in every cluster
        logg = _col(parent, "LOGG")[rows]
        containers = {("gaia" if c.get_label().startswith("Gaia") else "spec"): c for c in ax.containers}
        assert set(containers) == {"gaia", "spec"}, [c.get_label() for c in ax.containers]
        for key, col in (("gaia", "Gaia_parallax"), ("spec", "spec_parallax")):
            value, error = _col(cat, col)[rows], _col(cat, f"{col}_err")[rows]
            np.testing.assert_allclose(_col(members[names == name], col), value, rtol=1e-6)
            line, _, bars = containers[key].lines
            x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            np.testing.assert_allclose(x, value, rtol=1e-6)
            np.testing.assert_allclose(y, logg, atol=0.05)   # at the star's logg, nudged apart
            # One horizontal error bar per plotted star: from value - error to value + error at its height.
            assert containers[key].has_xerr and len(bars) == 1, key
            ends = np.asarray(bars[0].get_segments(), float)
            ends = ends[np.isfinite(ends).all(axis=(1, 2))]
            shown = np.isfinite(value) & np.isfinite(error) & np.isfinite(y)
            _same_rows(np.column_stack([ends[:, 0, 0], ends[:, 1, 0], ends[:, 0, 1], ends[:, 1, 1]]),
                       np.column_stack([(value - error)[shown], (value + error)[shown], y[shown], y[shown]]))
        drawn_members += len(rows)
        dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
        assert len(dashed) == 1 and np.allclose(dashed[0].get_xdata(), 1.0 / cluster["distance"]), name
    assert drawn_members == len(members) >= 5


# Paper mode (switches.figures: paper): each rule script draws with config.yaml's figures.<figure>.paper,
# the paper scripts' values, which the tests below spell out again from the scripts (not read from
# config.yaml), so a swapped range in config.yaml fails as well as a figure module ignoring it.
# make_figures_HER.py @ 4608f8b (Figs. 1-3), rotation_curve_uncertainties.py @ 4608f8b (Fig. 5)
# and @ 035a251 (Fig. 6).
PAPER = {
    "figure1": {"bp_rp": (0.5, 6.0), "j_k": (0.2, 2.7), "h_w2": (-0.1, 1.3), "logg": (0.0, 2.2), "cmap": "viridis_r"},
    "figure2": {"parallax": (-0.35, 2.0), "snr": (50.0, 1000.0), "cmap": "viridis_r"},
    "figure3": {"teff": (3600.0, 4800.0), "logg": (0.1, 2.2), "fe_h": (-1.0, 0.5), "h_w2": (0.0, 0.5),
                "cmap": "viridis_r"},
    "figure5": {"distance": (0.0, 20.0), "log_ratio": (-1.0, 1.0), "cmap": "RdBu_r"},
    "figure6": {"x": (-25.0, 5.0), "y": (-10.0, 20.0), "fe_h": (-0.7, 0.7), "cmap": "RdBu_r", "kpc_per_200_kms": 1.0},
}


def _inputs(work):
    return {"catalog": work / "results/mock/catalog/spectrophotometric_parallaxes.fits",
            "parent": work / "results/mock/samples/parent.fits"}


def _paper_params(cfg, name, **extra):
    return {"style": cfg["figures"][name]["paper"], "font_size": cfg["figures"]["font_size"], **extra}


def _cut_text(fig) -> str:
    from matplotlib.text import Text
    return " ".join(t.get_text() for t in fig.findobj(Text))


def test_paper_figure1_has_the_scripts_ranges_and_colour_map(mock_run, mock, monkeypatch):
    work, cfg = mock_run
    _, _, cat, parent = mock
    fig = _rule_figure("figure1", monkeypatch, _paper_params(cfg, "figure1", cuts=cfg["sample"]["colour_cuts"]),
                       {"parent": work / "results/mock/samples/parent.fits"})
    want = PAPER["figure1"]
    axes = _data_axes(fig)
    assert len(axes) == 4
    for ax, key in zip(axes, ("j_k", "h_w2", "j_k", "h_w2")):
        assert ax.get_xlim() == want["bp_rp"] and ax.get_ylim() == want[key], key
        points = _coloured(ax)
        assert (points.norm.vmin, points.norm.vmax) == want["logg"]
        assert points.get_cmap().name == want["cmap"]


def test_paper_figure2_has_two_panels_and_a_linear_snr_scale(mock_run, mock, monkeypatch):
    from matplotlib.colors import LogNorm, Normalize

    work, cfg = mock_run
    _, _, cat, parent = mock
    fig = _rule_figure("figure2", monkeypatch,
                       _paper_params(cfg, "figure2", snr_min=cfg["figures"]["high_snr_min"], high_snr_subset="paper"),
                       _inputs(work))
    want = PAPER["figure2"]
    gaia, spec, snr = _col(cat, "Gaia_parallax"), _col(cat, "spec_parallax"), _col(parent, "SNR")
    training = np.asarray(cat["training_set"], bool) & np.isfinite(gaia) & np.isfinite(spec) & np.isfinite(snr)
    axes = _data_axes(fig)
    assert len(axes) == 2   # the script's training set and its parallax_over_error >= 20 subset; no Parent Sample panel
    _same_rows(np.column_stack([_coloured(axes[0]).get_offsets(), _coloured(axes[0]).get_array()]),
               np.column_stack([gaia[training], spec[training], snr[training]]))
    high = training & (_col(parent, "parallax") / _col(parent, "parallax_error") >= cfg["figures"]["high_snr_min"])
    assert len(_coloured(axes[1]).get_offsets()) == high.sum() > 0
    for ax in axes:
        points = _coloured(ax)
        assert type(points.norm) is Normalize and not isinstance(points.norm, LogNorm)
        assert (points.norm.vmin, points.norm.vmax) == want["snr"]
        assert points.get_cmap().name == want["cmap"]
        assert ax.get_xlim() == want["parallax"] == ax.get_ylim()


def test_paper_figure3_has_the_scripts_colour_ranges(mock_run, monkeypatch):
    work, cfg = mock_run
    fig = _rule_figure("figure3", monkeypatch,
                       _paper_params(cfg, "figure3", parallax=cfg["figures"]["figure2"]["paper"]["parallax"],
                                     snr_min=cfg["figures"]["high_snr_min"]), _inputs(work))
    want = PAPER["figure3"]
    axes = _data_axes(fig)
    assert len(axes) == 4
    for ax, (key, _, _) in zip(axes, FIGURE3_PANELS):
        points = _coloured(ax)
        assert (points.norm.vmin, points.norm.vmax) == want[key], key
        assert points.get_cmap().name == want["cmap"]
        assert ax.get_xlim() == PAPER["figure2"]["parallax"] == ax.get_ylim()


def test_paper_figure5_puts_g_across_and_distance_up_for_the_scripts_stars(mock_run, mock, monkeypatch):
    """rotation_curve_uncertainties.py @ 4608f8b:69-93: finite pmra, pmdec, VHELIO_AVG and ALPHA_M < .12
    (allStar's -9999 passes), then scatter(G, distance) with ylim(0, 20)."""
    work, cfg = mock_run
    _, _, cat, parent = mock
    fig = _rule_figure("figure5", monkeypatch, _paper_params(cfg, "figure5", snr_min=cfg["figures"]["high_snr_min"]),
                       _inputs(work))
    want = PAPER["figure5"]
    spec, spec_err, gaia_err = _col(cat, "spec_parallax"), _col(cat, "spec_parallax_err"), _col(cat, "Gaia_parallax_err")
    g = _col(parent, "phot_g_mean_mag")
    motions = np.isfinite(_col(parent, "pmra")) & np.isfinite(_col(parent, "pmdec")) & np.isfinite(_col(parent, "VHELIO_AVG"))
    alpha = np.ma.filled(np.ma.asarray(parent["ALPHA_M"], dtype=float), np.nan)   # -9999 kept as -9999: passes
    kept = motions & ~(alpha >= 0.12)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log10(gaia_err / spec_err)
    use = kept & np.isfinite(ratio) & (spec > 0)
    assert 0 < use.sum() < (np.isfinite(ratio) & (spec > 0)).sum()   # the mock has alpha-rich stars to cut
    (ax,) = _data_axes(fig)
    points = _coloured(ax)
    _same_rows(np.column_stack([points.get_offsets(), points.get_array()]),
               np.column_stack([g[use], 1.0 / spec[use], ratio[use]]))
    assert ax.get_ylim() == want["distance"]
    assert "G" in ax.get_xlabel() and "distance" in ax.get_ylabel()
    assert (points.norm.vmin, points.norm.vmax) == want["log_ratio"] and points.get_cmap().name == want["cmap"]
    text = _cut_text(fig)
    assert f"{(~motions).sum()} cut: no finite pmra" in text
    assert f"{(motions & (alpha >= 0.12)).sum()} cut: [alpha/M] >= 0.12" in text


def test_paper_figure6_draws_the_scripts_stars_at_its_scale(mock_run, mock, monkeypatch):
    """rotation_curve_uncertainties.py @ 035a251:67-70, 248-251, 294, 347-356: finite motions, ALPHA_M < .12,
    near the plane, v_z < 100 km/s (signed), abs(FE_H) < 10; quiver scale 200 xy; xlim(-25, 5), ylim(-10, 20)."""
    from astropy import units as u

    work, cfg = mock_run
    _, _, cat, parent = mock
    fig = _rule_figure("figure6", monkeypatch, _paper_params(cfg, "figure6", frame=cfg["galactocentric"]),
                       _inputs(work))
    want = PAPER["figure6"]
    star, ok = _galactocentric(cfg, cat, parent)
    x, y, z = (getattr(star, c).to_value(u.kpc) for c in ("x", "y", "z"))
    vz = star.v_z.to_value(u.km / u.s)
    fe_h = np.ma.filled(np.ma.asarray(parent["FE_H"], dtype=float), np.nan)[ok]   # -9999 as in the script
    alpha = np.ma.filled(np.ma.asarray(parent["ALPHA_M"], dtype=float), np.nan)[ok]
    near = (np.abs(z) < 0.5) | (np.abs(z) / np.hypot(x, y) < np.tan(np.deg2rad(6.0)))
    use = near & ~(alpha >= 0.12) & (vz < 100) & (np.abs(fe_h) < 10)
    assert 0 < use.sum() < near.sum()
    (ax,) = _data_axes(fig)
    arrows = [q for q in ax.collections if q.get_array() is not None and len(q.get_array())]
    assert len(arrows) == 1   # every star drawn has [Fe/H]: no grey arrows
    drawn = np.column_stack([arrows[0].get_offsets(), np.ma.filled(arrows[0].get_array().astype(float), np.nan)])
    _same_rows(drawn, np.column_stack([x, y, fe_h])[use])
    assert ax.get_xlim() == want["x"] and ax.get_ylim() == want["y"]
    assert (arrows[0].norm.vmin, arrows[0].norm.vmax) == want["fe_h"] and arrows[0].get_cmap().name == want["cmap"]
    assert arrows[0].scale == pytest.approx(200.0 / want["kpc_per_200_kms"]) and arrows[0].scale_units == "xy"
    text = _cut_text(fig)
    every = np.ma.filled(np.ma.asarray(parent["ALPHA_M"], dtype=float), np.nan)
    motions = np.isfinite(_col(parent, "pmra")) & np.isfinite(_col(parent, "pmdec")) & np.isfinite(_col(parent, "VHELIO_AVG"))
    assert f"{(motions & (every >= 0.12)).sum()} cut: [alpha/M] >= 0.12" in text
