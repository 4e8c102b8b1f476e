"""The plotting functions: quoted numbers from spectroparallax.catalog.stats, labels, no overlapping text.

Figures are built in this process from the mock run's catalog (conftest.mock_run); the rules that
write them are tested in test_figure_rules.py.
"""

import itertools

import numpy as np
import pytest
import yaml
from astropy.table import Table
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from spectroparallax.catalog import clusters, galactic, stats
from spectroparallax.model import files as model_files
from spectroparallax.figures import (cluster_parallaxes, coefficients, colours, common, crossval, data, disk,
                                     parallaxes, precision, star_cuts, uncertainty)


@pytest.fixture(scope="module")
def mock(mock_run):
    work, cfg = mock_run
    cat, parent = data.read(work / "results/mock/catalog/spectrophotometric_parallaxes.fits",
                            work / "results/mock/samples/parent.fits")
    common.setup(cfg["figures"]["font_size"])
    return work, cfg, cat, parent


def test_fig2_numbers_are_stats_summary(mock):
    _, cfg, cat, _ = mock
    snr_min = cfg["figures"]["high_snr_min"]
    summary = stats.summary(cat, snr_min=snr_min)
    panels = parallaxes.panels(stats.catalog_arrays(cat), snr_min)
    high = panels["high_snr"]
    assert high.n == summary["n_high_snr"] >= 10
    assert high.scatter == summary["scatter_high_snr"] and high.bias == summary["bias_high_snr"]
    n_training = sum(v for k, v in summary.items() if k.startswith("n_training_"))
    assert panels["training"].n == n_training
    assert panels["parent"].n == summary["n_with_prediction"] - np.isnan(stats.catalog_arrays(cat)["gaia"]).sum()


def test_fig5_and_uncertainty_quote_stats_summary(mock):
    _, cfg, cat, parent = mock
    summary = stats.summary(cat)
    fig = precision.precision(stats.catalog_arrays(cat), data.labels(parent), summary, cfg["figures"]["figure5"])
    text = " ".join(t.get_text() for t in fig.findobj(Text))
    assert f"{100 * summary['fraction_more_precise_than_gaia']:.0f}%" in text
    assert f"{summary['median_fractional_uncertainty']:.3f}" in text
    pulls = uncertainty.training_pulls(stats.catalog_arrays(cat))
    assert stats.robust_scatter(pulls) == summary["normalized_residual_width"]


def test_the_papers_figure6_cuts_counted_by_hand():
    """Eight stars, each failing at most the cut it is built for (rotation_curve_uncertainties.py @ 035a251:
    finite motions and ALPHA_M < .12 (:67-70), v_z < 100 signed (:294), abs(FE_H) < 10 (:347))."""
    nan = np.nan
    lab = {"pmra": np.array([1.0, nan, 1, 1, 1, 1, 1, 1]), "pmdec": np.ones(8), "rv": np.ones(8),
           # star 3 has no [alpha/M] (allStar -9999 < 0.12 in the script: kept); star 4 sits on the cut
           "alpha_m": np.array([0.0, 0.0, 0.2, nan, 0.12, 0.05, 0.05, 0.05]),
           "fe_h": np.array([0.0, 0, 0, 0, 0, 0, 0, nan])}
    vz = np.array([0.0, 0, 0, 0, 0, 150, -150, 0])   # star 6 moves down at 150 km/s: the signed cut keeps it
    paper = {"motions": True, "alpha_m_max": 0.12, "vz_max": 100.0, "fe_h_abs_max": 10.0}
    keep, removed = star_cuts.apply(paper, lab, vz)
    assert keep.tolist() == [True, False, False, True, False, False, True, False]
    assert removed == {"no finite pmra, pmdec or VHELIO_AVG": 1, "[alpha/M] >= 0.12": 2,
                       "v_z >= 100 km/s (or no v_z)": 1, "|[Fe/H]| >= 10 (or no [Fe/H])": 1}
    assert "2 cut: [alpha/M] >= 0.12" in star_cuts.text(removed)
    project = {"motions": False, "alpha_m_max": None, "vz_max": None, "fe_h_abs_max": None}
    keep, removed = star_cuts.apply(project, lab, vz)
    assert keep.all() and removed == {}
    with pytest.raises(ValueError, match="vz_max is set but no Galactocentric v_z"):
        star_cuts.apply(paper, lab)


def test_catalog_and_parent_must_list_the_same_stars():
    cat = Table({"2MASS_ID": ["2Ma", "2Mb"]})
    with pytest.raises(ValueError, match=r"row 1 is 2Mb but parent.fits row 1 is 2Mc"):
        data.check_aligned(cat, Table({"APOGEE_ID": ["2Ma ", "2Mc"]}), "cat.fits", "parent.fits")
    with pytest.raises(ValueError, match="has 2 rows but parent.fits has 3"):
        data.check_aligned(cat, Table({"APOGEE_ID": ["2Ma", "2Mb", "2Mc"]}), "cat.fits", "parent.fits")


def test_crossval_figure_needs_the_chosen_setting_in_the_table():
    table = Table({"lambda": [10.0, 30.0], "offset": [0.048, 0.048], "chi2": [2.0, 1.0],
                   "scatter_high_snr": [0.1, 0.09], "n_high_snr": [30, 30]})
    with pytest.raises(ValueError, match="missing from crossval.csv"):
        crossval.crossval(table, {"lambda": 100.0, "offset": 0.048})


def _figures(work, cfg, cat, parent):
    """Every figure of the workflow, built as the rule scripts build them."""
    a, lab, fig_cfg = stats.catalog_arrays(cat), data.labels(parent), cfg["figures"]
    panels = parallaxes.panels(a, fig_cfg["high_snr_min"])
    members = clusters.member_table(cat, parent, cfg["clusters"])
    frame = galactic.frame_from_config(cfg["galactocentric"])
    gc = galactic.to_galactocentric(cat["ra"], cat["dec"], a["spec"], lab["pmra"], lab["pmdec"], lab["rv"], frame)
    style6 = fig_cfg["figure6"]
    best = yaml.safe_load((work / "results/mock/crossval/best.yaml").read_text())
    models = {f"fold {f} held out": model_files.read_model(
        work / f"results/mock/models/heldout_{f}/lambda_{best['lambda']}_offset_{best['offset']}.fits") for f in "AB"}
    three = {"teff": (lab["teff"], "Teff [K]"), "logg": (lab["logg"], "logg [dex]"),
             "fe_h": (lab["fe_h"], "[Fe/H] [dex]"), "h_w2": (lab["h_w2"], "H - W2 [mag]")}
    return {
        "figure1": colours.colour_colour(lab, cfg["sample"]["colour_cuts"], fig_cfg["figure1"]),
        "figure2": parallaxes.comparison(a, panels, lab["snr"], fig_cfg["figure2"]),
        "figure3": parallaxes.by_label(a, panels["training"], three, fig_cfg["figure3"],
                                       fig_cfg["figure2"]["parallax"]),
        "figure4": cluster_parallaxes.cluster_parallaxes(members, cfg["clusters"],
                                                         clusters.mean_parallaxes(members, cfg["clusters"])),
        "figure5": precision.precision(a, lab, stats.summary(cat), fig_cfg["figure5"]),
        "figure6": disk.disk_map(gc, lab["fe_h"], galactic.near_plane(gc["z"], gc["R"], style6["z_max"],
                                                                     style6["max_angle"]),
                                 galactic.sun_position(frame), style6),
        "figure_crossval": crossval.crossval(Table.read(work / "results/mock/crossval/crossval.csv"), best),
        "figure_model": coefficients.coefficients(models, "chosen setting"),
        "figure_uncertainty": uncertainty.uncertainty_figure(cat, parent, fig_cfg["uncertainty"])[0],
    }


def _texts(fig):
    """Drawn, non-empty text artists of ``fig`` with their window extents.

    Tick labels count only for ticks inside the axis range (matplotlib keeps others undrawn).
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    undrawn = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 * abs(hi - lo) <= tick.get_loc() <= hi + 1e-9 * abs(hi - lo):
                    undrawn.update((id(tick.label1), id(tick.label2)))
    return [(t, t.get_window_extent(renderer)) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in undrawn
            and (t.axes is None or t.axes.get_visible())]


def _shared(a, b) -> float:
    """Overlap area of two boxes as a fraction of the smaller one (touching corners of
    neighbouring tick labels share a pixel or two, which nobody sees)."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    small = min(a.width * a.height, b.width * b.height)
    return max(w, 0) * max(h, 0) / small if small > 0 else 0.0


def test_every_figure_is_labelled_and_no_two_texts_overlap(mock):
    figures = _figures(*mock)
    for name, fig in figures.items():
        # Every colour bar and every axis on the figure's edge says what it shows.
        for ax in fig.axes:
            if hasattr(ax, "_colorbar"):
                assert ax.get_ylabel() or ax.get_xlabel(), f"{name}: colour bar without a label"
        assert any(ax.get_xlabel() for ax in fig.axes), name
        assert any(ax.get_ylabel() for ax in fig.axes), name
        texts = _texts(fig)
        overlaps = [(a.get_text(), b.get_text(), round(_shared(ea, eb), 2))
                    for (a, ea), (b, eb) in itertools.combinations(texts, 2) if _shared(ea, eb) > 0.1]
        assert not overlaps, f"{name}: overlapping texts {overlaps[:5]}"


def test_fig4_draws_a_cluster_without_members(mock):
    _, cfg, cat, parent = mock
    windows = {**cfg["clusters"], "nowhere": {**cfg["clusters"]["M67"], "name": "test", "ra": 10.0, "dec": -80.0}}
    members = clusters.member_table(cat, parent, windows)
    fig = cluster_parallaxes.cluster_parallaxes(members, windows, clusters.mean_parallaxes(members, windows))
    assert "no members in the config windows" in fig.axes[-1].get_title()
