"""Parent Sample, folds and Training Sets on hand-made tables where each star fails one known cut."""

import numpy as np
import pytest
from astropy.table import Table, vstack

from spectroparallax.sample import cuts, features, folds
from spectroparallax.sample.cutflow import EmptySampleError

SAMPLE = {
    "logg_min": 0.0,
    "logg_max": 2.2,
    "colour_cuts": {"jk_intercept": 0.4, "jk_slope": 0.45, "hw2_min": -0.05},
}
TRAINING = {"parallax_error_max": 0.1, "visibility_periods_min": 8, "astrometric_chi2_max": 35.0}


def _star(i, **over):
    """A star that passes every cut, with per-cut overrides."""
    row = dict(
        APOGEE_ID=f"2M{i:08d}+0000000", LOCATION_ID=4000 + i % 3, TELESCOPE="apo25m", FIELD=f"{i % 3:03d}+02",
        EXTRATARG=0, LOGG=1.5, SNR=100.0,
        J=10.0, J_ERR=0.02, H=9.3, H_ERR=0.02, K=9.1, K_ERR=0.02, TEFF=4300.0,
        status="ok",
        in_gaia=True, source_id=10**18 + i, phot_g_mean_mag=12.0, phot_bp_mean_mag=12.8, phot_rp_mean_mag=11.2,
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


def _parent_rows(flow):
    """The Parent Sample's own rows of its cut-flow table (without the Gaia rows' flow before them)."""
    table = flow.table("parent")
    return table[table["sample"] == "parent"]


def _tables(cases):
    rows = [_star(i, **over) for i, (over, _) in enumerate(cases)]
    allstar_cols = ["APOGEE_ID", "LOCATION_ID", "TELESCOPE", "FIELD", "EXTRATARG", "LOGG", "SNR", "J", "J_ERR", "H",
                    "H_ERR", "K", "K_ERR", "TEFF"]
    allstar = Table(rows=[[r[c] for c in allstar_cols] for r in rows], names=allstar_cols)
    spectra = Table(rows=[(r["APOGEE_ID"], r["TELESCOPE"], r["FIELD"], r["status"]) for r in rows],
                    names=("APOGEE_ID", "TELESCOPE", "FIELD", "spectrum_status"))
    gaia_cols = [c for c in rows[0] if c.startswith(("source_id", "phot_", "bp_rp", "w1", "w2", "parallax", "visib", "astrom"))]
    gaia = Table(rows=[[r["APOGEE_ID"][2:]] + [r[c] for c in gaia_cols] for r in rows if r["in_gaia"]],
                 names=["tmass_designation"] + gaia_cols)
    return allstar, gaia, spectra


def test_each_cut_removes_exactly_its_star():
    allstar, gaia, spectra = _tables(CASES)
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    table = _parent_rows(flow)
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
    table = _parent_rows(flow)
    assert table["remaining"][0] == len(CASES) + 100
    assert table["removed"][1] == 100 + 3


def _one_star_in_rows(cases, telescopes, fields):
    allstar, gaia, spectra = _tables(cases)
    allstar["APOGEE_ID"] = spectra["APOGEE_ID"] = "2M00000007+0000000"
    allstar["TELESCOPE"] = spectra["TELESCOPE"] = telescopes
    allstar["FIELD"] = spectra["FIELD"] = fields
    gaia = gaia[:1]
    gaia["tmass_designation"] = "00000007+0000000"
    return allstar, gaia, spectra


def test_duplicate_keeps_highest_snr_row_with_a_readable_spectrum():
    """No row flagged: of a star's rows in three fields the highest-S/N one with a spectrum stays; the
    spectra are matched by (APOGEE_ID, TELESCOPE, FIELD), so the apo1m row's spectrum is its own."""
    cases = [
        ({"SNR": 300.0, "status": "unreadable"}, None),
        ({"SNR": 150.0}, None),
        ({"SNR": 80.0}, None),
    ]
    allstar, gaia, spectra = _one_star_in_rows(cases, ["apo25m", "apo1m", "apo25m"], ["F1", "F1", "F3"])
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    assert len(parent) == 1 and parent["TELESCOPE"][0] == "apo1m" and parent["SNR"][0] == 150.0
    table = flow.table("parent")
    assert [r["removed"] for r in table if r["cut"] == cuts.REPEAT_UNFLAGGED] == [1]
    assert [r["removed"] for r in table if r["cut"] == cuts.DUPLICATE_FLAGGED] == [0]


def test_improved_duplicates_drop_extratarg_bit_4_rows_then_keep_the_highest_snr():
    """EXTRATARG bit 4 (16, "non-primary duplicate") rows go first, whatever their S/N (other bits
    do not count); of the two unflagged rows the higher-S/N one stays. The paper keeps the first row."""
    cases = [({"SNR": 400.0, "EXTRATARG": 16 | 1}, None), ({"SNR": 90.0, "EXTRATARG": 2}, None),
             ({"SNR": 120.0}, None), ({"SNR": 500.0, "EXTRATARG": 16}, None)]
    allstar, gaia, spectra = _one_star_in_rows(cases, ["apo25m", "apo25m", "lco25m", "apo25m"], ["A", "B", "C", "D"])
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    assert list(parent["FIELD"]) == ["C"]
    table = flow.table("parent")
    assert [r["removed"] for r in table if r["cut"] == cuts.DUPLICATE_FLAGGED] == [2]
    assert [r["removed"] for r in table if r["cut"] == cuts.REPEAT_UNFLAGGED] == [1]
    paper, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE, duplicates="paper")
    assert list(paper["FIELD"]) == ["A"]


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
        ({"parallax_error": 0.1}, "eq. 8:"),
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
    # A fold without Parent Sample stars cannot train the other fold's model: one clear line.
    with pytest.raises(EmptySampleError, match=r"^select_samples: Training Set B: the Parent Sample has no star "
                       r"in fold B \(7 Parent Sample stars in all\).*model.n_folds$"):
        cuts.training_set(parent, TRAINING, fold="B")


def test_on_gaia_dr3_the_improved_quality_cut_is_ruwe_in_place_of_eq_9_10():
    """switches.quality_cut improved on a DR3 run (common.smk puts ruwe_max into the training
    cuts): ruwe <= ruwe_max decides, eq. 9-10 do not; without ruwe_max eq. 9-10 as in the paper."""
    cases = [({"visibility_periods_used": 7}, 1.0), ({}, 1.5), ({}, 1.4), ({}, np.nan)]
    allstar, gaia, spectra = _tables([(over, None) for over, _ in cases])
    parent, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    parent["fold"] = "A"
    parent["ruwe"] = [ruwe for _, ruwe in cases]
    mask, flow = cuts.training_set(parent, {**TRAINING, "ruwe_max": 1.4}, fold="A")
    assert mask.tolist() == [True, False, True, False]       # eq. 9 no longer applies; NaN ruwe fails
    table = flow.table("training A")
    assert [r["removed"] for r in table if r["cut"].startswith("ruwe > 1.4")] == [2]
    assert not [r for r in table if r["cut"].startswith("eq. 9")]
    assert cuts.training_set(parent, TRAINING, fold="A")[0].tolist() == [False, True, True, True]
    del parent["ruwe"]
    with pytest.raises(KeyError, match="no ruwe column.*quality_cut: paper"):
        cuts.training_set(parent, {**TRAINING, "ruwe_max": 1.4}, fold="A")


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


@pytest.mark.parametrize("error", [1e-12, 0.0, -0.03, np.nan])
def test_unusable_parallax_error_is_cut_and_counted_in_the_training_set(error):
    """parallax_error 1e-12, 0, negative or NaN once reached the fit as a weight (and stalled it):
    now the Training Set cut-flow counts it under its own reason; the star stays in the Parent Sample."""
    cases = [({}, None), ({"parallax_error": error}, "eq. 8 context"), ({"parallax_error": 0.001}, None)]
    allstar, gaia, spectra = _tables(cases)
    parent, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    assert len(parent) == 3
    parent["fold"] = "A"
    mask, flow = cuts.training_set(parent, TRAINING, fold="A")
    assert mask.tolist() == [True, False, True]
    table = flow.table("training A")
    assert [r["removed"] for r in table if r["cut"].startswith("eq. 8 context")] == [1]
    assert [r["removed"] for r in table if r["cut"] == "no Gaia parallax"] == [0]


def test_two_apogee_stars_sharing_a_gaia_source_keep_the_higher_snr_one():
    """Two APOGEE IDs matched to one Gaia source_id: both used to train. The higher-S/N one stays,
    the other is counted; three Gaia sources sharing one 2MASS neighbour: two Gaia rows counted."""
    cases = [({"SNR": 80.0}, None), ({"SNR": 200.0}, None), ({}, None), ({}, None)]
    allstar, gaia, spectra = _tables(cases)
    gaia["source_id"][1] = gaia["source_id"][0]
    extra = gaia[[2, 2]]
    extra["source_id"] = [7, 8]
    extra["phot_g_mean_mag"] = [13.0, 14.0]   # fainter than the kept match (12.0)
    gaia = vstack([gaia, extra])
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    assert list(parent["APOGEE_ID"]) == [allstar["APOGEE_ID"][i] for i in (1, 2, 3)]
    assert parent["source_id"][1] == 10**18 + 2
    table = flow.table("parent")
    shared = [r for r in table if r["cut"].startswith("shares its Gaia source_id")]
    assert [(r["sample"], r["removed"], r["remaining"]) for r in shared] == [("parent", 1, 3)]
    gaia_rows = table[table["sample"] == "gaia"]
    assert list(gaia_rows["remaining"]) == [6, 4] and gaia_rows["removed"][1] == 2
    assert "brightest in G" in gaia_rows["cut"][1]
    # Equal S/N: the first allStar row stays (a stable key, not the order of the Gaia rows).
    allstar["SNR"][1] = 80.0
    parent, _ = cuts.select_parent(allstar, gaia[::-1], spectra, SAMPLE)
    assert parent["APOGEE_ID"][0] == allstar["APOGEE_ID"][0]


def test_ids_that_are_not_2mass_are_kept_intact_and_counted():
    cases = [({}, None), ({"APOGEE_ID": "VESTA"}, None), ({"APOGEE_ID": "2M123"}, None)]
    allstar, gaia, spectra = _tables(cases)
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    assert len(parent) == 1
    (row,) = [r for r in _parent_rows(flow) if r["cut"].startswith("APOGEE_ID is not")]
    assert row["removed"] == 2


@pytest.mark.parametrize("over, cut, fix", [
    ({"LOGG": 3.0}, "logg outside", "sample.logg_min"),
    ({"status": "missing"}, "no readable spectrum", "normalize_shard"),
    ({"in_gaia": False}, "no Gaia DR2 source", "gaia_<release>/chunk_"),
    ({"J": 11.2}, "eq. 6", "sample.colour_cuts"),
])
def test_a_cut_that_empties_the_parent_sample_says_which_and_what_to_change(over, cut, fix):
    allstar, gaia, spectra = _tables([(over, cut)] * 3)
    allstar["APOGEE_ID"] = [f"2M{i:08d}+0000000" for i in range(3)]
    spectra["APOGEE_ID"] = allstar["APOGEE_ID"]
    if len(gaia):
        gaia["tmass_designation"] = [f"{i:08d}+0000000" for i in range(3)]
        gaia["source_id"] = [1, 2, 3]
    with pytest.raises(EmptySampleError) as info:
        cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("select_samples: Parent Sample: no star left after the cut '" + cut)
    assert "(3 stars before it, 0 after; 3 allStar rows at the start)" in msg and fix in msg


def test_an_empty_gaia_result_and_a_shard_without_spectra_give_one_line_not_a_traceback():
    allstar, gaia, spectra = _tables([({}, None)] * 2)
    with pytest.raises(EmptySampleError, match=r"no Gaia DR2 source .*\(2 stars before it, 0 after.*chunk"):
        cuts.select_parent(allstar, gaia[:0], spectra, SAMPLE)
    with pytest.raises(EmptySampleError, match=r"no readable spectrum .*\(2 stars before it, 0 after"):
        cuts.select_parent(allstar, gaia, spectra[:0], SAMPLE)


def test_a_training_cut_that_empties_a_fold_names_it():
    allstar, gaia, spectra = _tables([({"parallax_error": 0.2}, None)] * 2)
    parent, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    parent["fold"] = "A"
    with pytest.raises(EmptySampleError, match=r"^select_samples: Training Set A: no star left after the cut "
                       r"'eq. 8: parallax_error >= 0.1 mas' \(2 stars before it, 0 after; 2 Parent Sample A at the "
                       r"start\); raise sample.training.parallax_error_max$"):
        cuts.training_set(parent, TRAINING, fold="A")


def test_a_fold_without_stars_is_an_error_naming_it():
    with pytest.raises(EmptySampleError, match=r"^select_samples: folds: fold [AB] of 2 got no Parent Sample star "
                       r"\(1 stars in the Parent Sample\).*model.n_folds$"):
        folds.fold_labels(["2M00000001+0000000"], 2, seed=7)
    assert folds.fold_labels(["2M00000001+0000000"], 2, seed=7, require_all=False).size == 1


def test_an_empty_design_matrix_is_not_written(tmp_path):
    allstar, gaia, spectra = _tables([({}, None)])
    parent, _ = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    with pytest.raises(EmptySampleError, match="^design_matrix: 0 Parent Sample stars x 4 kept pixels"):
        features.write_design_matrix(parent[:0], [], [], np.arange(4), tmp_path / "X.npy", tmp_path / "X_err.npy",
                                     clip=(0.01, 1.2), ln_err_max=0.1)
    assert not list(tmp_path.iterdir())


FEATURE_ERRORS = [("J_ERR", "missing 2MASS"), ("H_ERR", "missing 2MASS"), ("K_ERR", "missing 2MASS"),
                  ("w1mpro_error", "missing AllWISE"), ("w2mpro_error", "missing AllWISE"),
                  ("phot_g_mean_flux_error", "missing Gaia"), ("phot_bp_mean_flux_error", "missing Gaia"),
                  ("phot_rp_mean_flux_error", "missing Gaia")]


@pytest.mark.parametrize("column, cut", FEATURE_ERRORS)
@pytest.mark.parametrize("value", [0.0, -0.02, np.nan])
def test_an_unusable_feature_error_is_cut_and_counted_in_the_parent_sample(column, cut, value):
    """Every error column the features (eq. 11) and their uncertainties (eq. 5) use: zero, negative
    or NaN removes the star under its survey's cut, so the design matrix never sees it."""
    allstar, gaia, spectra = _tables([({}, None), ({column: value}, cut)])
    parent, flow = cuts.select_parent(allstar, gaia, spectra, SAMPLE)
    assert list(parent["APOGEE_ID"]) == [allstar["APOGEE_ID"][0]]
    assert [r["removed"] for r in _parent_rows(flow) if r["cut"].startswith(cut)] == [1]
    features.photometry(parent)  # the survivors make a complete feature vector
    assert {c for c, _ in FEATURE_ERRORS} <= set(features.photometry_columns())


def test_locate_spectra_finds_shard_and_row_by_id_telescope_and_field():
    shard_stars = [Table({"APOGEE_ID": ["2M00000001+0000000", " 2M00000002+0000000"], "TELESCOPE": ["apo1m", "apo25m"],
                          "FIELD": ["M67", "F2"]}),
                   Table({"APOGEE_ID": ["2M00000003+0000000", "2M00000001+0000000"], "TELESCOPE": ["lco25m", "apo25m"],
                          "FIELD": ["F3", "M67"]})]
    parent = Table({"APOGEE_ID": ["2M00000003+0000000", "2M00000001+0000000", "2M00000002+0000000",
                                  "2M00000001+0000000"], "TELESCOPE": ["lco25m", "apo1m", "apo25m", "apo25m"],
                    "FIELD": ["F3", "M67", "F2", "M67"]})
    shard, row = features.locate_spectra(parent, shard_stars)
    assert shard.tolist() == [1, 0, 0, 1] and row.tolist() == [0, 0, 1, 1]
    parent["FIELD"][2] = "F5"
    with pytest.raises(ValueError, match="^1 parent stars have no normalized spectrum, e.g. APOGEE_ID "
                       "2M00000002\\+0000000 of apo25m field F5; rerun the normalize_shard rules$"):
        features.locate_spectra(parent, shard_stars)
