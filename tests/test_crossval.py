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
