"""Calibrated uncertainties (issue 20): the maximum-likelihood scale and scatter against truth,
and the cross-fitting that keeps a star's astrometry out of its own uncertainty."""

import numpy as np
import pytest

from spectroparallax.catalog import calibration


def _survey(rng, n, s, eps, f, outlier_sigma=0.5):
    """Held-out predictions whose true uncertainty is sqrt((s err5)^2 + (eps true)^2), Gaia with
    its own (correct) errors, and a fraction f of Gaia outliers."""
    true = rng.uniform(0.1, 1.5, n)
    err5 = true * rng.uniform(0.03, 0.1, n)
    spec = true + rng.normal(0, np.hypot(s * err5, eps * true))
    gaia_err = rng.uniform(0.02, 0.1, n)
    gaia = true + rng.normal(0, gaia_err)
    bad = rng.random(n) < f
    gaia[bad] += rng.normal(0, outlier_sigma, bad.sum())
    return true, spec, err5, gaia, gaia_err


@pytest.mark.parametrize("seed", [1, 2])
def test_fit_recovers_scale_and_scatter_within_its_errors(seed):
    rng = np.random.default_rng(seed)
    _, spec, err5, gaia, gaia_err = _survey(rng, 4000, s=1.6, eps=0.07, f=0.02)
    cal = calibration.fit(gaia, gaia_err, spec, err5, fit_scale=True)
    assert abs(cal.s - 1.6) < 3 * cal.s_err and cal.s_err < 0.1
    assert abs(cal.epsilon - 0.07) < 3 * cal.epsilon_err and cal.epsilon_err < 0.01
    assert 0.0 < cal.f < 0.05 and cal.n_stars == 4000


def test_calibrated_errors_match_the_truth_where_eq5_does_not():
    rng = np.random.default_rng(5)
    true, spec, err5, gaia, gaia_err = _survey(rng, 6000, s=1.5, eps=0.08, f=0.0)
    cal = calibration.fit(gaia, gaia_err, spec, err5, fit_scale=True)
    width = lambda z: 1.4826 * np.median(np.abs(z - np.median(z)))  # noqa: E731
    assert width((true - spec) / err5) > 1.6                        # eq. 5 alone: far too small
    assert abs(width((true - spec) / cal.apply(spec, err5)) - 1.0) < 0.05


@pytest.mark.parametrize("seed", [3, 4])
def test_default_fit_holds_s_at_1_and_recovers_the_scatter_against_truth(seed):
    # eq. 5 right (s = 1), an intrinsic 8 % scatter on top, 600 stars (one mock fold's training stars)
    rng = np.random.default_rng(seed)
    true, spec, err5, gaia, gaia_err = _survey(rng, 600, s=1.0, eps=0.08, f=0.02)
    cal = calibration.fit(gaia, gaia_err, spec, err5)
    assert cal.s == 1.0 and cal.s_err == 0.0
    assert abs(cal.epsilon - 0.08) < 3 * cal.epsilon_err and cal.epsilon_err < 0.02
    width = lambda z: 1.4826 * np.median(np.abs(z - np.median(z)))  # noqa: E731
    assert abs(width((true - spec) / cal.apply(spec, err5)) - 1.0) < 0.1


def test_eq5_variance_share_by_hand():
    theta = np.array([0.5, 10.0, -6.0, 0.1])
    X_err = np.array([[0.0, 0.01, 0.02, 1.0],
                      [0.0, 0.0, 0.0, 0.0]])
    share = calibration.eq5_variance_share(theta, X_err, [1, 2])
    phot = (10.0 * 0.01) ** 2 + (6.0 * 0.02) ** 2
    assert share[0] == pytest.approx(phot / (phot + 0.1 ** 2))
    assert np.isnan(share[1])                                   # no eq.-5 variance: no share
    mask = np.array([False, True, True, False])
    assert calibration.eq5_variance_share(theta, X_err, mask)[0] == pytest.approx(share[0])


def test_apply_by_hand():
    cal = calibration.Calibration(s=2.0, epsilon=0.1, f=0.0, s_err=0, epsilon_err=0, f_err=0, n_stars=1)
    assert cal.apply([0.5], [0.03])[0] == pytest.approx(np.sqrt(0.06 ** 2 + 0.05 ** 2))


@pytest.mark.parametrize("with_covariate", [False, True])
def test_cross_fit_keeps_each_folds_astrometry_out_of_its_own_errors(with_covariate):
    rng = np.random.default_rng(7)
    _, spec, err5, gaia, gaia_err = _survey(rng, 3000, s=1.4, eps=0.05, f=0.01)
    folds = np.where(rng.random(3000) < 0.5, "A", "B")
    training = rng.random(3000) < 0.8
    cov = ({"covariates": np.column_stack([rng.uniform(0.3, 2.2, 3000), rng.normal(-0.2, 0.3, 3000)]),
            "names": ("LOGG", "FE_H"), "degrees": (1, 2)} if with_covariate else {})
    cross_fit = lambda *args: calibration.cross_fit(*args, **cov)  # noqa: E731
    err_cal, cals = cross_fit(folds, gaia, gaia_err, spec, err5, training)
    assert set(cals) == {"A", "B"} and np.isfinite(err_cal).all()
    # Move fold A's Gaia parallaxes: A's own errors must not change, B's (fitted on A) must.
    moved = gaia.copy()
    moved[folds == "A"] += rng.normal(0, 0.2, (folds == "A").sum())
    again, _ = cross_fit(folds, moved, gaia_err, spec, err5, training)
    assert np.array_equal(again[folds == "A"], err_cal[folds == "A"])
    assert not np.allclose(again[folds == "B"], err_cal[folds == "B"])
    # Only training stars enter a fit: changing a non-training star's Gaia parallax changes nothing.
    other = gaia.copy()
    other[~training] += 1.0
    assert np.array_equal(cross_fit(folds, other, gaia_err, spec, err5, training)[0], err_cal)


def test_too_few_stars_names_the_fold():
    rng = np.random.default_rng(9)
    _, spec, err5, gaia, gaia_err = _survey(rng, 100, s=1.0, eps=0.05, f=0.0)
    folds = np.array(["A"] * 90 + ["B"] * 10)
    with pytest.raises(ValueError, match="fold A's uncertainties.*at least 30"):
        calibration.cross_fit(folds, gaia, gaia_err, spec, err5, np.ones(100, bool))


def test_usable_never_cuts_on_the_parallax_value():
    ok = calibration.usable([-0.5, 0.0, 3.0, np.nan], [0.1, 0.1, 0.1, 0.1], [0.5] * 4, [0.05] * 4, [True] * 4)
    assert list(ok) == [True, True, True, False]


def test_binned_widths_by_hand():
    from spectroparallax.catalog.stats import robust_scatter
    from spectroparallax.figures.uncertainty import binned_widths

    rng = np.random.default_rng(4)
    x = np.r_[rng.uniform(0, 1, 300), rng.uniform(2, 3, 300), [np.nan]]
    pull = np.r_[rng.normal(0, 1, 300), rng.normal(0, 2, 300), [0.0]]
    centres, widths, counts = binned_widths(pull, x, 2)
    assert list(counts) == [300, 300]
    assert widths[0] == pytest.approx(robust_scatter(pull[:300])) and widths[1] == pytest.approx(robust_scatter(pull[300:600]))
    assert centres[0] == pytest.approx(np.median(x[:300])) and 1.7 < widths[1] / widths[0] < 2.3


def test_epsilon_error_is_given_when_no_outliers_are_found():
    # no outliers at all: f goes to its bound 0, where the Hessian in f is meaningless; epsilon's
    # error must still come out, near the spread of epsilon over repeated surveys
    eps = []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        _, spec, err5, gaia, gaia_err = _survey(rng, 800, s=1.0, eps=0.08, f=0.0, outlier_sigma=0.0)
        cal = calibration.fit(gaia, gaia_err, spec, err5)
        eps.append(cal.epsilon)
        if cal.f < 1e-6:
            assert np.isfinite(cal.epsilon_err) and np.isnan(cal.f_err)
    assert 0.5 < cal.epsilon_err / np.std(eps) < 2.0


def _trend_survey(rng, n, eps0, slope, reference=1.8, curvature=0.0, feh_reference=-0.2):
    """Like _survey with s = 1, but the intrinsic scatter eps0 exp(slope (c - reference) + curvature
    (feh - feh_reference)^2) grows towards low c (like the mock's luminous giants at low logg) and
    away from feh_reference (like its metal-poor and metal-rich giants); c uniform in 0.3..2.2, feh
    normal about -0.2 with sigma 0.3."""
    c = rng.uniform(0.3, 2.2, n)
    feh = rng.normal(-0.2, 0.3, n)
    true = rng.uniform(0.1, 1.5, n)
    err5 = true * rng.uniform(0.03, 0.1, n)
    eps = eps0 * np.exp(slope * (c - reference) + curvature * (feh - feh_reference) ** 2)
    spec = true + rng.normal(0, np.hypot(err5, eps * true))
    gaia_err = rng.uniform(0.02, 0.1, n)
    return c, feh, true, spec, err5, true + rng.normal(0, gaia_err), gaia_err


def _width(z):
    return 1.4826 * np.median(np.abs(z - np.median(z)))


@pytest.mark.parametrize("seed", [11, 12])
def test_a_scatter_trend_is_recovered_and_flattens_the_widths_against_truth(seed):
    rng = np.random.default_rng(seed)
    c, _, true, spec, err5, gaia, gaia_err = _trend_survey(rng, 3000, eps0=0.05, slope=-0.8)
    cal = calibration.fit(gaia, gaia_err, spec, err5, covariates=c, names=("LOGG",), degrees=(1,))
    (b,), (b_err,) = cal.coefficients, cal.coefficient_errors
    assert cal.covariates == ("LOGG",) and abs(b + 0.8) < 3 * b_err and b_err < 0.2
    assert abs(cal.references[0] - np.median(c)) < 1e-12 and (cal.lowers[0], cal.uppers[0]) == (c.min(), c.max())
    assert abs(cal.scatter([[1.8]])[0] - 0.05) < 3 * cal.epsilon_err * np.exp(b * (1.8 - cal.references[0])) + 0.01
    low = c < 0.8
    flat = (true - spec) / cal.apply(spec, err5, c[:, None])
    assert abs(_width(flat[low]) - 1) < 0.12 and abs(_width(flat[~low]) - 1) < 0.08
    constant = calibration.fit(gaia, gaia_err, spec, err5)
    drift = (true - spec) / constant.apply(spec, err5)
    assert _width(drift[low]) > 1.25                                  # one epsilon: far too small at low c


@pytest.mark.parametrize("seed", [21, 22])
def test_a_two_covariate_quadratic_trend_is_recovered_against_truth(seed):
    """ln epsilon linear in logg and quadratic in [Fe/H] (the default calibration.epsilon_covariates
    shape): the coefficients come back within their errors and the widths against the truth are
    flat in [Fe/H], where a trend in logg alone leaves the metal-poor stars' errors far too small."""
    rng = np.random.default_rng(seed)
    c, feh, true, spec, err5, gaia, gaia_err = _trend_survey(rng, 6000, eps0=0.04, slope=-0.6, curvature=3.0)
    values = np.column_stack([c, feh])
    cal = calibration.fit(gaia, gaia_err, spec, err5, covariates=values, names=("LOGG", "FE_H"), degrees=(2, 2))
    assert cal.terms() == [("LOGG", 1), ("LOGG", 2), ("FE_H", 1), ("FE_H", 2)]
    got = dict(zip(cal.terms(), zip(cal.coefficients, cal.coefficient_errors)))
    # truth in the fit's centring (references are the medians): slope -0.6, no logg^2, and
    # 3 (feh + 0.2)^2 = 3 (d + r + 0.2)^2 with d = feh - r: linear 6 (r + 0.2), quadratic 3
    r = cal.references[1]
    for term, truth in ((("LOGG", 1), -0.6), (("LOGG", 2), 0.0), (("FE_H", 1), 6 * (r + 0.2)), (("FE_H", 2), 3.0)):
        b, b_err = got[term]
        assert abs(b - truth) < 3.5 * b_err, (term, b, b_err, truth)
    pull = (true - spec) / cal.apply(spec, err5, values)
    poor, rich = feh < -0.6, feh > 0.2
    for part in (poor, rich, ~poor & ~rich):
        assert abs(_width(pull[part]) - 1) < 0.12
    logg_only = calibration.fit(gaia, gaia_err, spec, err5, covariates=c, names=("LOGG",), degrees=(1,))
    assert _width(((true - spec) / logg_only.apply(spec, err5, c))[poor]) > 1.3   # what FE_H adds


def test_the_trend_is_held_inside_the_fitted_range_by_hand():
    cal = calibration.Calibration(1.0, 0.05, 0.0, 0.0, 0.0, 0.0, 100, covariates=("LOGG", "FE_H"), degrees=(1, 2),
                                  coefficients=(-1.0, 0.5, 2.0), coefficient_errors=(0.1, 0.1, 0.1),
                                  references=(1.5, -0.2), lowers=(0.5, -1.0), uppers=(2.0, 0.4))
    spec, err5 = np.full(4, 0.5), np.full(4, 0.02)
    values = np.array([[0.0, -2.0], [1.0, 0.0], [3.0, 0.5], [np.nan, np.nan]])
    got = cal.apply(spec, err5, values)
    logg = np.array([0.5, 1.0, 2.0, 1.5]) - 1.5            # clipped to 0.5..2.0; NaN: the reference
    feh = np.array([-1.0, 0.0, 0.4, -0.2]) + 0.2           # clipped to -1.0..0.4
    eps = 0.05 * np.exp(-1.0 * logg + 0.5 * feh + 2.0 * feh ** 2)
    assert np.allclose(got, np.hypot(0.02, eps * 0.5), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="depends on LOGG, FE_H"):
        cal.apply(spec, err5)


def test_a_missing_covariate_column_names_the_file_and_the_key(tmp_path):
    from astropy.table import Table

    from spectroparallax.io.errors import InputFileError

    parent = Table({"LOGG": [1.0, 2.0], "FE_H": [-0.5, -9999.0]})
    got = calibration.covariate_columns(parent, ("LOGG", "FE_H"), tmp_path / "parent.fits")
    assert got.shape == (2, 2) and list(got[:, 0]) == [1.0, 2.0] and got[0, 1] == -0.5 and np.isnan(got[1, 1])
    with pytest.raises(InputFileError, match="parent.fits: has no column 'TEF'.*calibration.epsilon_covariates"):
        calibration.covariate_columns(parent, ("LOGG", "TEF"), tmp_path / "parent.fits")
