import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.catalog import stats


def test_robust_scatter_of_a_gaussian():
    x = np.random.default_rng(1).normal(0.0, 0.07, 200_000)
    assert stats.robust_scatter(x) == pytest.approx(0.07, rel=0.01)
    assert np.isnan(stats.robust_scatter([]))


def test_robust_scatter_err_matches_the_spread_over_independent_samples():
    """The bootstrap error of one cluster-sized sample (15 members) against the true spread of the
    width over 2000 independent samples of that size (the truth the bootstrap estimates)."""
    rng = np.random.default_rng(7)
    widths = [stats.robust_scatter(rng.normal(size=15)) for _ in range(2000)]
    true_err = np.std(widths)
    estimates = [stats.robust_scatter_err(rng.normal(size=15), n_boot=500, seed=k) for k in range(60)]
    assert 0.15 < true_err < 0.3                         # a 15-member width is uncertain by ~20 %
    assert np.median(estimates) == pytest.approx(true_err, rel=0.25)
    assert np.isnan(stats.robust_scatter_err([1.0, 2.0]))
    assert stats.robust_scatter_err(np.arange(20.0)) == stats.robust_scatter_err(np.arange(20.0))   # seeded


def _catalog():
    # Four training stars in A with parallax / error = 50, two of them off by +10% and -10%,
    # one by +20%; one low-S/N training star; one non-training star in B; one without a prediction.
    cat = Table()
    cat["Gaia_parallax"] = np.ma.array([1.0, 1.0, 1.0, 1.0, 0.2, 0.5, 0.5], mask=[0, 0, 0, 0, 0, 0, 0])
    cat["Gaia_parallax_err"] = [0.02, 0.02, 0.02, 0.02, 0.05, 0.05, 0.05]
    cat["spec_parallax"] = np.ma.array([1.1, 0.9, 1.0, 1.2, 0.3, 0.5, 0.0], mask=[0, 0, 0, 0, 0, 0, 1])
    cat["spec_parallax_err"] = np.ma.array([0.01, 0.03, 0.01, 0.05, 0.1, 0.025, 0.0], mask=[0, 0, 0, 0, 0, 0, 1])
    cat["training_set"] = [1, 1, 1, 1, 1, 0, 0]
    cat["sample"] = ["A", "A", "A", "A", "B", "B", "B"]
    return cat


def test_summary_by_hand():
    s = stats.summary(_catalog(), offset=0.048)
    assert s["n_stars"] == 7 and s["n_with_prediction"] == 6
    assert (s["n_sample_A"], s["n_sample_B"], s["n_training_A"], s["n_training_B"]) == (4, 3, 4, 1)
    assert s["n_high_snr"] == 4
    frac = np.array([0.1, -0.1, 0.0, 0.2])
    assert s["bias_high_snr"] == pytest.approx(np.median(frac))
    assert s["scatter_high_snr"] == pytest.approx(0.5 * (np.percentile(frac, 84) - np.percentile(frac, 16)))
    frac0 = np.array([1.1, 0.9, 1.0, 1.2]) / 0.952 - 1
    assert s["bias_high_snr_no_offset"] == pytest.approx(np.median(frac0))
    pulls = (np.array([1.0, 1.0, 1.0, 1.0, 0.2]) - [1.1, 0.9, 1.0, 1.2, 0.3]) / np.hypot(
        [0.02, 0.02, 0.02, 0.02, 0.05], [0.01, 0.03, 0.01, 0.05, 0.1])
    assert s["normalized_residual_width"] == pytest.approx(stats.robust_scatter(pulls))
    assert s["median_fractional_uncertainty"] == pytest.approx(np.median([0.01 / 1.1, 0.03 / 0.9, 0.01, 0.05 / 1.2, 0.1 / 0.3, 0.05]))
    # spec more precise than Gaia: stars 0, 2, 5 of the six with both errors
    assert s["fraction_more_precise_than_gaia"] == pytest.approx(3 / 6)


def test_summary_offset_from_header_or_paper_default():
    cat = _catalog()
    assert stats.summary(cat)["offset"] == stats.PUBLISHED_OFFSET
    cat.meta["PLXOFFST"] = 0.029
    assert stats.summary(cat)["offset"] == 0.029


def test_summary_counts_stars_with_a_gaia_parallax():
    cat = _catalog()
    cat["Gaia_parallax"].mask[[1, 5]] = True
    s = stats.summary(cat, offset=0.048)
    assert s["n_stars"] == 7 and s["n_with_gaia"] == 5
    # the masked high-S/N star drops out of the Fig. 2 subset
    assert s["n_high_snr"] == 3


def test_every_summary_number_is_described_and_tabulated():
    s = stats.summary(_catalog(), offset=0.048)
    table = stats.summary_table(s)
    assert list(table["quantity"]) == list(s)
    assert all(table["description"]) and set(table["unit"]) <= {"", "mas", "fraction"}
    rows = {row["quantity"]: row for row in table}
    assert rows["n_training_A"]["value"] == "4" and rows["n_training_A"]["description"] == "training stars in sample A"
    assert rows["offset"]["unit"] == "mas" and float(rows["offset"]["value"]) == 0.048
    assert float(rows["bias_high_snr"]["value"]) == pytest.approx(s["bias_high_snr"], rel=1e-3)


def test_json_ready_turns_nan_into_null():
    empty = _catalog()[4:]     # no high-S/N training star left
    s = stats.json_ready(stats.summary(empty, offset=0.048))
    assert s["n_high_snr"] == 0 and s["scatter_high_snr"] is None and s["bias_high_snr"] is None
    assert s["n_stars"] == 3
