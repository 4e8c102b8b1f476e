"""The catalog table itself: the no-prediction path (flag 1, masked values, never a silent NaN)."""

import numpy as np
from astropy.table import Table

from spectroparallax.catalog import table


def _parent(n):
    return Table({"APOGEE_ID": [f"2M0000000{i}+0000000 " for i in range(n)], "source_id": np.arange(n) + 10,
                  "ra": np.linspace(1, 2, n), "dec": np.linspace(-1, 1, n),
                  "parallax": np.ma.array([0.5, np.nan, 0.2, -0.1], mask=[False, True, False, False]),
                  "parallax_error": [0.05, np.nan, 0.04, 0.06], "training": [True, False, True, True],
                  "fold": ["A", "B", "A", "B"]})


def test_a_star_without_a_finite_prediction_is_flagged_and_masked():
    spec = np.array([0.51, 0.3, np.nan, np.inf])
    spec_err = np.array([0.02, np.nan, 0.01, 0.01])
    cat = table.build_catalog(_parent(4), spec, spec_err, offset=0.048, lam=30.0, cfg_hash="abc")
    assert list(cat["flag"]) == [table.FLAG_OK, table.FLAG_NO_PREDICTION, table.FLAG_NO_PREDICTION,
                                 table.FLAG_NO_PREDICTION]
    for name in ("spec_parallax", "spec_parallax_err"):
        assert list(np.ma.getmaskarray(cat[name])) == [False, True, True, True], name
    assert cat["spec_parallax"][0] == 0.51 and cat["spec_parallax_err"][0] == 0.02
    # Gaia's value plus the offset, masked where Gaia has none; a negative parallax stays negative.
    assert list(np.ma.getmaskarray(cat["Gaia_parallax"])) == [False, True, False, False]
    np.testing.assert_allclose(np.ma.filled(cat["Gaia_parallax"], np.nan), [0.548, np.nan, 0.248, -0.052])
    assert list(cat["2MASS_ID"]) == [f"2M0000000{i}+0000000" for i in range(4)]
    assert cat.meta["LAMBDA"] == 30.0 and cat.meta["PLXOFFST"] == 0.048 and cat.meta["CFGHASH"] == "abc"


def test_the_flag_survives_a_round_trip_through_fits_and_csv(tmp_path):
    cat = table.build_catalog(_parent(4), [0.5, np.nan, 0.2, 0.1], [0.01, 0.01, np.nan, 0.01], 0.048, 30.0, "h")
    for name in ("c.fits", "c.csv"):
        cat.write(tmp_path / name)
        back = Table.read(tmp_path / name)
        assert list(back["flag"]) == [0, 1, 1, 0], name
        values = np.ma.filled(np.ma.asarray(back["spec_parallax"], dtype=float), np.nan)
        assert np.isnan(values[1]) and np.isnan(values[2]) and values[3] == 0.1, name


TRAINING_CUTS = {"parallax_error_max": 0.1, "visibility_periods_min": 8, "astrometric_chi2_max": 35.0}


def _with_astrometry(parent):
    """The eq. 9-10 columns, chosen so that the paper's flag and the fit's Training Set differ."""
    parent["parallax_error"] = [0.05, np.nan, 0.0005, 0.06]   # star 2 is below the fit's error floor
    parent["visibility_periods_used"] = [9, 12, 10, 7]        # star 3 fails eq. 9
    parent["astrometric_chi2_al"] = [200.0, 100.0, 2000.0, 100.0]
    parent["astrometric_n_good_obs_al"] = [105, 105, 105, 105]  # chi2 / sqrt(100): 20, 10, 200, 10
    parent["training"] = [True, False, False, False]
    return parent


def test_the_paper_catalog_flags_eq_8_to_10_alone_and_rounds_to_four_decimals():
    parent = _with_astrometry(_parent(4))
    parent["astrometric_chi2_al"][2] = 300.0                 # 30 <= 35: star 2 passes eq. 10 by hand
    spec = np.array([0.512345678, 0.3, 0.123456789, 0.2])
    spec_err = np.array([0.0123456, 0.01, 0.00987654, 0.02])
    paper = table.build_catalog(parent, spec, spec_err, 0.0483, 30.0, "h", style="paper", training_cfg=TRAINING_CUTS)
    # star 0 passes all three; star 1 has no parallax_error (NaN passes no cut); star 2 passes eq. 8-10
    # although the fit never used it (error below the floor); star 3 has 7 visibility periods.
    assert list(paper["training_set"]) == [1, 0, 1, 0]
    assert paper["spec_parallax"][0] == 0.5123 and paper["spec_parallax_err"][2] == 0.0099
    assert paper["Gaia_parallax"][0] == 0.5483 and paper["Gaia_parallax"][2] == 0.2483
    assert paper.meta["CATSTYLE"] == "paper"
    improved = table.build_catalog(parent, spec, spec_err, 0.0483, 30.0, "h")
    assert list(improved["training_set"]) == [1, 0, 0, 0]     # the stars the models were trained on
    assert improved["spec_parallax"][0] == 0.512345678 and improved.meta["CATSTYLE"] == "improved"


def test_the_paper_catalog_needs_the_thresholds():
    import pytest
    with pytest.raises(ValueError, match="training_cfg"):
        table.build_catalog(_with_astrometry(_parent(4)), [0.5] * 4, [0.01] * 4, 0.048, 30.0, "h", style="paper")


def test_calibrated_uncertainties_keep_eq5_beside_them_and_their_numbers_in_the_header(tmp_path):
    from spectroparallax.catalog.calibration import Calibration, calibration_table

    cals = {"A": Calibration(1.5, 0.06, 0.02, 0.05, 0.004, 0.01, 400),
            "B": Calibration(1.4, 0.0, 0.0, 0.05, float("nan"), float("nan"), 380)}
    spec, eq5 = np.array([0.5, 0.3, 0.2, 0.1]), np.array([0.02, 0.01, 0.01, 0.01])
    calibrated = np.hypot(1.5 * eq5, 0.06 * spec)
    cat = table.build_catalog(_parent(4), spec, calibrated, 0.048, 30.0, "h", spec_err_eq5=eq5, calibrations=cals)
    assert cat.meta["ERRMODEL"] == "calibrated" and cat.meta["CALS_A"] == 1.5 and cat.meta["CALE_B"] == 0.0
    assert cat.meta["CALEE_B"] is None and cat.meta["CALN_A"] == 400
    assert list(cat["spec_parallax_err_eq5"]) == list(eq5) and cat["spec_parallax_err_eq5"].unit == "mas"
    assert "calibrated" in cat["spec_parallax_err"].description
    cat.write(tmp_path / "c.fits")                                  # NaN never reaches the FITS header
    assert Table.read(tmp_path / "c.fits").meta["CALS_B"] == 1.4
    paper = table.build_catalog(_parent(4), spec, eq5, 0.048, 30.0, "h")
    assert paper.meta["ERRMODEL"] == "eq5" and "spec_parallax_err_eq5" not in paper.colnames
    rows = calibration_table(cals, ["A", "B"])
    assert list(rows["error_model"]) == ["calibrated", "calibrated"] and rows["s"][1] == 1.4
    assert list(calibration_table(None, ["A", "B"])["error_model"]) == ["eq5", "eq5"]


def test_a_scatter_trend_is_written_to_the_header_and_the_calibration_table(tmp_path):
    from spectroparallax.catalog.calibration import Calibration, calibration_table

    trend = {"covariates": ("LOGG", "FE_H"), "degrees": (1, 2), "references": (1.8, -0.2), "lowers": (0.3, -1.1),
             "uppers": (2.2, 0.4)}
    cals = {"A": Calibration(1.0, 0.06, 0.0, 0.0, 0.004, float("nan"), 400, coefficients=(-0.7, 0.1, 2.0),
                             coefficient_errors=(0.1, 0.2, 0.3), **trend),
            "B": Calibration(1.0, 0.05, 0.0, 0.0, 0.004, float("nan"), 380, coefficients=(-0.5, 0.2, 1.5),
                             coefficient_errors=(0.2, 0.2, 0.4), **trend)}
    spec, eq5 = np.array([0.5, 0.3, 0.2, 0.1]), np.array([0.02, 0.01, 0.01, 0.01])
    cat = table.build_catalog(_parent(4), spec, eq5 * 2, 0.048, 30.0, "h", spec_err_eq5=eq5, calibrations=cals)
    assert (cat.meta["ERRCOV"], cat.meta["ERRDEG"]) == ("LOGG,FE_H", "1,2")
    assert cat.meta["CALB11_A"] == -0.7 and cat.meta["CALB21_B"] == 0.2 and cat.meta["CALB22_A"] == 2.0
    assert cat.meta["CALU11_B"] == 0.2 and cat.meta["CALU22_B"] == 0.4 and "CALB12_A" not in cat.meta
    assert cat.meta["CALR1_A"] == 1.8 and cat.meta["CALR2_B"] == -0.2
    assert (cat.meta["CALLO2_B"], cat.meta["CALHI2_B"]) == (-1.1, 0.4)
    assert "CALB<k><p>_<fold> (c_k - CALR<k>_<fold>)^p" in cat["spec_parallax_err"].description
    cat.write(tmp_path / "c.fits")
    rows = calibration_table(cals, ["A", "B"])
    assert list(rows["trend"]) == ["LOGG^1 FE_H^2", "LOGG^1 FE_H^2"]
    assert list(rows["b_LOGG_1"]) == [-0.7, -0.5] and list(rows["b_FE_H_2_err"]) == [0.3, 0.4]
    assert rows["FE_H_reference"][0] == -0.2 and rows["LOGG_max"][1] == 2.2 and rows["FE_H_min"][0] == -1.1
    constant = table.build_catalog(_parent(4), spec, eq5 * 2, 0.048, 30.0, "h", spec_err_eq5=eq5,
                                   calibrations={"A": Calibration(1.0, 0.06, 0.0, 0.0, 0.004, float("nan"), 400)})
    assert "ERRCOV" not in constant.meta and not any(key.startswith("CALB") for key in constant.meta)
