import numpy as np
import pytest

from spectroparallax import crossval



def test_chi2_by_hand():
    assert crossval.held_out_chi2([1.0, 2.0], [0.5, 1.0], [0.0, 4.0]) == pytest.approx(4.0 + 4.0)


def test_summarize_uses_training_stars_and_snr_threshold():
    gaia = np.array([1.0, 1.0, 0.1, 1.0])
    err = np.array([0.02, 0.02, 0.05, 0.02])
    spec = np.array([1.1, 0.9, 0.3, 5.0])
    training = np.array([True, True, True, False])
    s = crossval.summarize(gaia, err, spec, training, snr_min=20)
    assert s["n_chi2"] == 3 and s["n_high_snr"] == 2
    assert s["chi2"] == pytest.approx(25 + 25 + 16)
    assert s["bias_high_snr"] == pytest.approx(0.0, abs=1e-12)
    assert s["scatter_high_snr"] == pytest.approx(0.5 * (np.percentile([-0.1, 0.1], 84) - np.percentile([-0.1, 0.1], 16)))


def test_choose_lowest_chi2():
    assert crossval.choose({"chi2": [3.0, np.nan, 1.0, 2.0]}) == 2
    with pytest.raises(ValueError):
        crossval.choose({"chi2": [np.nan]})


def test_high_predicted_snr_bias_does_not_select_on_gaia_noise():
    # Stars with identical features (prediction 1.0 mas) and Gaia errors 0.04 mas: the Gaia
    # parallaxes scatter by 8 percent around the truth (= the prediction). Selecting on Gaia
    # parallax / error >= 26 keeps the upward-scattered ones and biases (spec - Gaia)/Gaia low;
    # selecting on spec / error >= 20 keeps everyone and shows no bias.
    rng = np.random.default_rng(3)
    n = 20_000
    gaia = 1.0 + 0.08 * rng.standard_normal(n)
    err = np.full(n, 0.04)
    spec = np.ones(n)
    s = crossval.summarize(gaia, err, spec, np.ones(n, bool), snr_min=26)
    assert s["n_high_pred_snr"] == 0
    s = crossval.summarize(gaia, err, spec, np.ones(n, bool), snr_min=25)
    assert s["n_high_pred_snr"] == n
    assert abs(s["bias_high_pred_snr"]) < 0.01
    assert s["bias_high_snr"] < -0.02


def test_fit_figures_and_describe():
    metas = [{"ZEROFRAC": 0.7, "CONVERGD": True, "NITER": 12}, {"ZEROFRAC": 0.8, "CONVERGD": False, "NITER": 30}]
    f = crossval.fit_figures(metas)
    assert f == {"zero_fraction": pytest.approx(0.75), "converged": False, "n_iter_max": 30}
    from astropy.table import Table
    t = Table(rows=[{"lambda": 1.0, "offset": 0.048, "chi2": 3.0}])
    crossval.describe(t)
    assert t["offset"].unit == "mas" and "held-out" in t["chi2"].description


def test_grid_edge_warning():
    t = {"lambda": [10.0, 10.0, 30.0, 30.0, 100.0, 100.0]}
    assert "smallest" in crossval.grid_edge_warning(t, 1)
    assert "largest" in crossval.grid_edge_warning(t, 4)
    assert crossval.grid_edge_warning(t, 2) is None
    assert crossval.grid_edge_warning({"lambda": [10.0, 30.0]}, 0) is None
