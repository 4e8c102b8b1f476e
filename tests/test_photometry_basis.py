"""switches.photometry_basis: the photometry fitted as K plus penalized colours (issue 20).

The basis change is an exact reparametrization of the photometric block (x . theta unchanged), the
fit in it equals the magnitude-basis fit when nothing is penalized, and with lambda > 0 it shrinks
the nearly collinear magnitudes' cancelling coefficients without predicting the truth worse.
"""

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.model import files
from spectroparallax.model import photometry_basis as pb
from spectroparallax.model.training import train, train_fold
from spectroparallax.sample.features import BANDS

# A hand-written index: the offset, the eight bands of eq. 11, two pixels.
NAMES = ["offset", *BANDS, "lnf_1", "lnf_2"]
KIND = ["offset"] + ["photometry"] * 8 + ["spectrum"] * 2


def test_colour_basis_is_k_plus_adjacent_colours_and_round_trips_by_hand():
    basis = pb.colour_basis(NAMES, KIND)
    assert basis.names == ("K", "BP-G", "G-RP", "RP-J", "J-H", "H-K", "K-W1", "W1-W2")
    assert basis.columns.tolist() == list(range(1, 9))
    assert basis.penalize.tolist() == [False] + [True] * 7
    #            G   BP  RP  J   H   K   W1  W2
    expected = [[0,  0,  0,  0,  0,  1,  0,  0],    # K
                [-1, 1,  0,  0,  0,  0,  0,  0],    # BP - G
                [1,  0, -1,  0,  0,  0,  0,  0],    # G - RP
                [0,  0,  1, -1,  0,  0,  0,  0],    # RP - J
                [0,  0,  0,  1, -1,  0,  0,  0],    # J - H
                [0,  0,  0,  0,  1, -1,  0,  0],    # H - K
                [0,  0,  0,  0,  0,  1, -1,  0],    # K - W1
                [0,  0,  0,  0,  0,  0,  1, -1]]    # W1 - W2
    np.testing.assert_array_equal(basis.T, expected)

    X = np.array([[1.0, 12.0, 13.0, 11.0, 10.0, 9.5, 9.3, 9.2, 9.25, -0.1, -0.2],
                  [1.0, 10.0, 10.5, 9.4, 8.6, 8.1, 8.0, 7.9, 7.95, -0.3, 0.0]])
    Z = pb.design_matrix(X, basis)
    np.testing.assert_allclose(Z[0], [1.0, 9.3, 1.0, 1.0, 1.0, 0.5, 0.2, 0.1, -0.05, -0.1, -0.2], atol=1e-12)
    assert X[0, 1] == 12.0   # a copy: the caller's X is untouched
    # theta_z: K -0.46, BP-G 0.1, G-RP 0.2, K-W1 0.3, pixels 0.5 and -1
    theta_z = np.array([2.0, -0.46, 0.1, 0.2, 0.0, 0.0, 0.0, 0.3, 0.0, 0.5, -1.0])
    theta_m = pb.to_magnitudes(theta_z, basis)
    # by hand: G = -0.1 + 0.2, BP = 0.1, RP = -0.2, K = -0.46 + 0.3, W1 = -0.3; offset and pixels as they were
    np.testing.assert_allclose(theta_m, [2.0, 0.1, 0.1, -0.2, 0.0, 0.0, -0.16, -0.3, 0.0, 0.5, -1.0], atol=1e-12)
    # the same predictions exp(theta . x) from either basis: -3.948 + 2 - 0.05 + 0.2 for star 0, by hand
    np.testing.assert_allclose(Z @ theta_z, X @ theta_m, rtol=1e-12)
    np.testing.assert_allclose(X[0] @ theta_m, 2.0 - 3.948 - 0.05 + 0.2, rtol=1e-12)
    np.testing.assert_allclose(pb.to_colours(theta_m, basis), theta_z, atol=1e-12)
    assert pb.penalized(np.array(KIND) == "spectrum", basis).tolist() == [False, False] + [True] * 9


def test_colour_basis_refuses_a_missing_band_or_a_basis_that_does_not_span():
    with pytest.raises(ValueError, match="W2 are not photometric features"):
        pb.colour_basis(NAMES[:8] + ["lnf_1"], KIND[:8] + ["spectrum"])
    with pytest.raises(ValueError, match="do not span"):
        pb.colour_basis(NAMES, KIND, colours=pb.COLOURS[:-1] + (("BP", "RP"),))   # no colour reaches W2


def _simulate(n_stars=1600, n_pix=120, seed=3):
    """Nearly collinear magnitudes: K = M_K(t) + mu, every other band K + a colour with a small slope
    in the label t, 0.01 mag errors; 12 spectral lines whose depths follow t. The truth: the
    parallax of mu alone (10^(2 - mu / 5) mas), which needs K and t."""
    rng = np.random.default_rng(seed)
    t = rng.standard_normal(n_stars)
    mu = rng.uniform(9.0, 13.0, n_stars)
    k_true = -4.0 + 0.5 * t + mu
    colour = np.array([1.2, 1.5, 1.0, 0.8, 0.6, 0.0, -0.1, -0.05])      # G BP RP J H K W1 W2 minus K
    slope = np.array([0.06, 0.09, 0.04, 0.03, 0.02, 0.0, -0.01, -0.01])
    mags = k_true[:, None] + colour + slope * t[:, None] + rng.normal(0, 0.01, (n_stars, 8))
    resp = np.zeros(n_pix)
    lines = rng.choice(n_pix, 12, replace=False)
    resp[lines] = rng.uniform(0.03, 0.08, 12)
    flux = 1 - 0.3 * (resp > 0) - resp * t[:, None] + rng.normal(0, 0.01, (n_stars, n_pix))
    X = np.hstack([np.ones((n_stars, 1)), mags, np.log(np.clip(flux, 0.01, 1.2))])
    true = 10 ** (2 - mu / 5)
    sigma = 0.05 * true + 0.01
    y = true + sigma * rng.standard_normal(n_stars)
    names = ["offset", *BANDS, *(f"lnf_{j}" for j in range(n_pix))]
    kind = ["offset"] + ["photometry"] * 8 + ["spectrum"] * n_pix
    return X, y, 1 / sigma**2, np.array(kind) == "spectrum", true, names, kind


@pytest.fixture(scope="module")
def problem():
    return _simulate()


def _fit(problem, lam, basis, rows=slice(0, 800), theta0=None):
    X, y, ivar, pen, *_ = problem
    burn = y * np.sqrt(ivar) > 5
    return train(X[rows], y[rows], ivar[rows], pen, lam, burn[rows], "exact", theta0=theta0, basis=basis)


def test_without_a_penalty_the_colour_fit_is_the_magnitude_fit(problem):
    """lambda = 0: an invertible change of unpenalized columns changes no prediction."""
    X, *_, names, kind = problem
    basis = pb.colour_basis(names, kind)
    mags, colours = _fit(problem, 0.0, None), _fit(problem, 0.0, basis)
    assert mags.converged and colours.converged
    np.testing.assert_allclose(np.exp(X @ colours.theta), np.exp(X @ mags.theta), rtol=1e-5)
    np.testing.assert_allclose(colours.theta, mags.theta, rtol=1e-3, atol=1e-4)


def test_penalized_colours_shrink_the_cancelling_magnitudes_and_predict_the_truth_no_worse(problem):
    X, y, ivar, pen, true, names, kind = problem
    basis = pb.colour_basis(names, kind)
    lam, held = 10.0, slice(800, None)
    mags, colours = _fit(problem, lam, None), _fit(problem, lam, basis)
    gbr = [1, 2, 3]
    # the magnitude fit trades ~1 between G, BP and RP (measured: 0.48 + 0.97 + 0.57); the colour fit ~0.5
    assert np.abs(colours.theta[gbr]).sum() < 0.5 * np.abs(mags.theta[gbr]).sum()
    rms = {name: np.sqrt(np.mean((np.exp(X[held] @ r.theta) / true[held] - 1) ** 2))
           for name, r in (("magnitudes", mags), ("colours", colours))}
    assert rms["colours"] <= rms["magnitudes"], rms   # measured 1.86 % against 1.97 %
    # the coefficients are returned in the magnitude basis: its zero fraction counts the pixels only
    assert colours.zero_fraction == np.mean(colours.theta[pen] == 0.0)
    # the sum of the magnitude coefficients is the anchor's: the distance-modulus term -ln(10) / 5
    assert abs(colours.theta[1:9].sum() + np.log(10) / 5) < 0.05


def test_a_warm_start_is_read_in_the_magnitude_basis(problem):
    """theta0 (a model file's theta, magnitude basis) is moved into the colour basis: a fit started
    from its own answer starts at its own objective."""
    *_, names, kind = problem
    basis = pb.colour_basis(names, kind)
    cold = _fit(problem, 10.0, basis)
    warm = _fit(problem, 10.0, basis, theta0=cold.theta)
    assert abs(warm.history[0]["F"] - cold.objective) <= 1e-5 * cold.objective
    assert abs(warm.objective - cold.objective) <= 1e-6 * cold.objective


def test_train_fold_writes_theta_in_the_magnitude_basis_and_says_which(problem, tmp_path):
    X, y, ivar, pen, _, names, kind = problem
    n = len(y)
    parent = Table({"training": np.ones(n, bool), "fold": np.where(np.arange(n) < n // 2, "B", "A"),
                    "parallax": y, "parallax_error": 1 / np.sqrt(ivar)})
    index = Table({"name": names, "kind": kind, "penalized": pen})
    kw = dict(burn_in_snr=5.0, high_snr_subset="improved", optimizer="exact", l21=False)
    written = train_fold(tmp_path / "c.fits", X, index, parent, "A", 10.0, 0.0, photometry_basis="colours", **kw)
    model = files.read_model(tmp_path / "c.fits")
    assert model.meta["PHOTBAS"] == "colours"
    np.testing.assert_array_equal(model["theta"], written.theta)
    np.testing.assert_allclose(written.theta, _fit(problem, 10.0, pb.colour_basis(names, kind)).theta, atol=1e-6)
    train_fold(tmp_path / "m.fits", X, index, parent, "A", 10.0, 0.0, photometry_basis="magnitudes", **kw)
    assert files.read_model(tmp_path / "m.fits").meta["PHOTBAS"] == "magnitudes"
    with pytest.raises(ValueError, match="photometry_basis 'colors' is not one of magnitudes, colours"):
        train_fold(tmp_path / "x.fits", X, index, parent, "A", 10.0, 0.0, photometry_basis="colors", **kw)
