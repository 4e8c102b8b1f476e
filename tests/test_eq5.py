"""HER19 eq. 5 by hand: the spectrophotometric parallax error from several feature errors per star.

With independent feature errors, eq. 5 gives sigma_plx = plx * sqrt(sum_j theta_j^2 sigma_j^2): the
errors add in quadrature, weighted by the coefficients. Every star here has two or more non-zero
feature errors, so adding them linearly, taking the largest, or forgetting the coefficients gives a
different number.
"""

import math

import numpy as np
import pytest

from spectroparallax.model import predict


def test_two_errors_add_in_quadrature_weighted_by_theta():
    # theta (., 3, 4) with feature errors (0.1, 0.1): sqrt(0.3^2 + 0.4^2) = 0.5 times the parallax
    # (linearly: 0.7; the largest: 0.4; unweighted: 0.14).
    theta = np.array([-1.0, 3.0, 4.0])
    X = np.array([[1.0, 0.1, 0.2]])
    X_err = np.array([[0.0, 0.1, 0.1]])
    plx, err = predict(theta, X, X_err)
    assert plx[0] == pytest.approx(math.exp(-1.0 + 0.3 + 0.8), rel=1e-12)
    assert err[0] == pytest.approx(0.5 * plx[0], rel=1e-12)


def test_several_stars_and_three_errors_each():
    theta = np.array([0.5, -2.0, 1.0, 0.25])
    X = np.array([[1.0, 0.3, -0.1, 2.0],
                  [1.0, -0.2, 0.4, 1.0],
                  [1.0, 0.0, 0.0, 0.0]])
    X_err = np.array([[0.0, 0.05, 0.2, 0.4],
                      [0.0, 0.01, 0.03, 0.08],
                      [0.0, 0.1, 0.1, 0.1]])
    plx, err = predict(theta, X, X_err)
    for n in range(3):
        expected_plx = math.exp(sum(t * x for t, x in zip(theta, X[n])))
        rel = math.sqrt(sum((t * s) ** 2 for t, s in zip(theta, X_err[n])))
        assert plx[n] == pytest.approx(expected_plx, rel=1e-12)
        assert err[n] == pytest.approx(expected_plx * rel, rel=1e-12)
    # star 0 by hand: sqrt((2*0.05)^2 + (1*0.2)^2 + (0.25*0.4)^2) = sqrt(0.01 + 0.04 + 0.01)
    assert err[0] / plx[0] == pytest.approx(math.sqrt(0.06), rel=1e-12)


def test_an_error_on_a_zero_coefficient_adds_nothing():
    theta = np.array([0.0, 3.0, 0.0])
    plx, err = predict(theta, np.array([[1.0, 0.1, 5.0]]), np.array([[0.0, 0.1, 10.0]]))
    assert err[0] == pytest.approx(0.3 * plx[0], rel=1e-12)
