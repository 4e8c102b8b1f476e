"""Parent Sample, folds and Training Sets on hand-made tables where each star fails one known cut."""

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.sample import cuts, features, folds

SAMPLE = {
    "logg_min": 0.0,
    "logg_max": 2.2,
    "colour_cuts": {"jk_intercept": 0.4, "jk_slope": 0.45, "hw2_min": -0.05},
}
TRAINING = {"parallax_error_max": 0.1, "visibility_periods_min": 8, "astrometric_chi2_max": 35.0}


def _star(i, **over):
    """A star that passes every cut, with per-cut overrides."""
    row = dict(
        APOGEE_ID=f"2M{i:08d}+0000000", LOCATION_ID=4000 + i % 3, TELESCOPE="apo25m", LOGG=1.5, SNR=100.0,
        J=10.0, J_ERR=0.02, H=9.3, H_ERR=0.02, K=9.1, K_ERR=0.02, TEFF=4300.0,
        status="ok",
        in_gaia=True, phot_g_mean_mag=12.0, phot_bp_mean_mag=12.8, phot_rp_mean_mag=11.2,
        phot_g_mean_flux=1e5, phot_g_mean_flux_error=1e2, phot_bp_mean_flux=4e4, phot_bp_mean_flux_error=80.0,
        phot_rp_mean_flux=6e4, phot_rp_mean_flux_error=60.0, bp_rp=1.6, phot_variable_flag="NOT_AVAILABLE",
        w1mpro=9.0, w1mpro_error=0.02, w2mpro=9.1, w2mpro_error=0.02,
        parallax=0.3, parallax_error=0.03, visibility_periods_used=12, astrometric_chi2_al=200.0,
        astrometric_n_good_obs_al=230,
    )
    row.update(over)
    return row


# (overrides, cut it must fail): one star per cut, plus stars that must survive.
CASES = [
    ({}, None),
    ({"LOGG": 2.5}, "logg"),                     # red clump
    ({"LOGG": -9999.0}, "logg"),                 # ASPCAP failure
    ({"LOGG": 0.0}, "logg"),                     # the lower limit is exclusive
    ({"LOGG": 2.2}, None),                       # the upper limit is inclusive
    ({"status": "missing"}, "no readable spectrum"),
    ({"in_gaia": False}, "no Gaia DR2 source"),
    ({"phot_bp_mean_mag": np.nan, "phot_bp_mean_flux": np.nan, "bp_rp": np.nan}, "missing Gaia"),
    ({"K_ERR": -9999.0}, "missing 2MASS"),
    ({"w2mpro": np.nan}, "missing AllWISE"),
    ({"phot_variable_flag": "VARIABLE"}, "VARIABLE"),
    ({"J": 11.2}, "eq. 6"),                      # J - K = 2.1 > 0.4 + 0.45 * 1.6
    ({"w2mpro": 9.4}, "eq. 7"),                  # H - W2 = -0.1
    ({"parallax": -0.05}, None),                 # a negative parallax is no reason to go
]


def _tables(cases):
    rows = [_star(i, **over) for i, (over, _) in enumerate(cases)]
    allstar_cols = ["APOGEE_ID", "LOCATION_ID", "TELESCOPE", "LOGG", "SNR", "J", "J_ERR", "H", "H_ERR", "K", "K_ERR", "TEFF"]
    allstar = Table(rows=[[r[c] for c in allstar_cols] for r in rows], names=allstar_cols)
    spectra = Table(rows=[(r["APOGEE_ID"], r["LOCATION_ID"], r["status"]) for r in rows],
                    names=("APOGEE_ID", "LOCATION_ID", "spectrum_status"))
    gaia_cols = [c for c in rows[0] if c.startswith(("phot_", "bp_rp", "w1", "w2", "parallax", "visib", "astrom"))]
    gaia = Table(rows=[[r["APOGEE_ID"][2:]] + [r[c] for c in gaia_cols] for r in rows if r["in_gaia"]],
                 names=["tmass_designation"] + gaia_cols)
    return allstar, gaia, spectra


def test_each_cut_removes_exactly_its_star():
    allstar, gaia, spectra = _tables(CASES)
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    table = flow.table("parent")
    assert table["remaining"][0] == len(CASES)
    for over, cut in CASES:
        if cut is None:
            continue
        rows = [r for r in table if cut in r["cut"]]
        assert len(rows) == 1, cut
    expected_removed = {}
    for _, cut in CASES:
        if cut:
            expected_removed[cut] = expected_removed.get(cut, 0) + 1
    for cut, n in expected_removed.items():
        assert [r["removed"] for r in table if cut in r["cut"]] == [n], cut
    survivors = [f"2M{i:08d}+0000000" for i, (_, cut) in enumerate(CASES) if cut is None]
    assert list(parent["APOGEE_ID"]) == survivors
    assert table["remaining"][-1] == len(survivors) == flow.n_kept
    # Removed + remaining adds up at every step.
    assert table["removed"][1:].sum() + table["remaining"][-1] == len(CASES)


def test_rows_removed_by_the_allstar_reduction_are_counted_under_logg():
    allstar, gaia, spectra = _tables(CASES)
    allstar.meta[cuts.NROWS_KEYWORD] = len(allstar) + 100
    _, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    table = flow.table("parent")
    assert table["remaining"][0] == len(CASES) + 100
    assert table["removed"][1] == 100 + 3


def test_duplicate_keeps_highest_snr_row_with_a_readable_spectrum():
    cases = [
        ({"SNR": 300.0, "status": "unreadable"}, None),
        ({"SNR": 150.0}, None),
        ({"SNR": 80.0}, None),
    ]
    allstar, gaia, spectra = _tables(cases)
    allstar["APOGEE_ID"] = spectra["APOGEE_ID"] = "2M00000007+0000000"
    allstar["LOCATION_ID"] = spectra["LOCATION_ID"] = [1, 2, 3]
    gaia = gaia[:1]
    gaia["tmass_designation"] = "00000007+0000000"
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    assert len(parent) == 1 and parent["LOCATION_ID"][0] == 2 and parent["SNR"][0] == 150.0
    table = flow.table("parent")
    assert [r["removed"] for r in table if "repeat observation" in r["cut"]] == [1]


def test_fold_labels_are_seeded_stable_and_balanced():
    ids = [f"2M{i:08d}+1234567" for i in range(4000)]
    a = folds.fold_labels(ids, 2, seed=7)
    assert set(a) == {"A", "B"}
    assert np.array_equal(a, folds.fold_labels(ids, 2, seed=7))
    assert not np.array_equal(a, folds.fold_labels(ids, 2, seed=8))
    # A star's label does not depend on the other stars in the sample.
    assert np.array_equal(a[::3], folds.fold_labels(ids[::3], 2, seed=7))
    assert abs((a == "A").mean() - 0.5) < 0.03
    k = folds.fold_labels(ids, 5, seed=7)
    assert set(k) == set("ABCDE")


def test_training_cuts_keep_negative_parallaxes_and_never_cut_on_snr():
    cases = [
        ({"parallax": -0.05}, None),
        ({"parallax": 0.001, "parallax_error": 0.09}, None),   # S/N ~ 0 stays
        ({"parallax": np.nan}, "no Gaia parallax"),
        ({"parallax_error": 0.1}, "eq. 8"),
        ({"visibility_periods_used": 7}, "eq. 9"),
        ({"astrometric_chi2_al": 36.0 * np.sqrt(225.0), "astrometric_n_good_obs_al": 230}, "eq. 10"),
        ({"astrometric_chi2_al": 35.0 * np.sqrt(225.0), "astrometric_n_good_obs_al": 230}, None),
    ]
    allstar, gaia, spectra = _tables(cases)
    parent, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    parent["fold"] = "A"
    mask, flow = cuts.training_set(parent, TRAINING, fold="A")
    assert mask.tolist() == [cut is None for _, cut in cases]
    table = flow.table("training A")
    for _, cut in cases:
        if cut:
            assert [r["removed"] for r in table if cut in r["cut"]] == [1], cut
    assert parent["parallax"][mask].min() < 0
    mask_b, _ = cuts.training_set(parent, TRAINING, fold="B")
    assert not mask_b.any()


def test_gaia_magnitude_errors_come_from_flux_errors():
    allstar, gaia, spectra = _tables([({}, None)])
    parent, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    mags, errs = features.photometry(parent)
    assert mags[0].tolist() == pytest.approx([12.0, 12.8, 11.2, 10.0, 9.3, 9.1, 9.0, 9.1])
    assert errs[0, 0] == pytest.approx(1.0857362 * 1e2 / 1e5, rel=1e-6)
    assert errs[0, 3] == pytest.approx(0.02)


def test_design_matrix_layout_clipping_and_index():
    allstar, gaia, spectra = _tables([({}, None), ({"J": 10.1}, None)])
    parent, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    flux = np.array([[1.0, 0.5, 0.0, 2.0], [0.9, np.e**-1, 1.0, 1.0]], dtype=np.float32)
    err = np.array([[0.01, 0.01, 0.01, 0.01], [0.009, 0.02, 1e10, 0.01]], dtype=np.float32)
    X, X_err = features.design_matrix(parent, flux, err, clip=(0.01, 1.2), ln_err_max=0.1)
    assert X.dtype == np.float32 and X.shape == (2, 9 + 4)
    assert X[:, 0].tolist() == [1, 1] and X_err[:, 0].tolist() == [0, 0]
    assert X[1, 4] == pytest.approx(10.1)
    assert X[0, 9:].tolist() == pytest.approx([0.0, np.log(0.5), np.log(0.01), np.log(1.2)], abs=1e-6)
    assert X_err[0, 9:].tolist() == pytest.approx([0.01, 0.02, 0.1, 0.01 / 1.2], rel=1e-5)
    assert X_err[1, 11] == pytest.approx(0.1)          # a masked pixel's error is capped
    assert X_err[1, 10] == pytest.approx(0.02 * np.e, rel=1e-5)
    index = features.feature_index(np.array([10, 11, 12, 13]), np.array([15200.0, 15200.2, 15200.4, 15200.6]))
    assert list(index["name"][:9]) == ["offset", "G", "BP", "RP", "J", "H", "K", "W1", "W2"]
    assert index["penalized"].tolist() == [False] * 9 + [True] * 4
    assert index["name"][9] == "lnf_15200.00" and index["pixel"][12] == 13
