"""Interstellar extinction of the mock: a dust disk integrated along each sightline.

The dust density is exponential in Galactocentric radius and height, normalized to a local
extinction per kpc in the mid-plane at the Sun; extinction in each band is A_V times the ratio
of a standard law.
"""

import numpy as np

#: A_band / A_V of the Wang & Chen (2019, ApJ 877, 116) extinction law (Gaia DR2, 2MASS, WISE).
EXTINCTION_RATIOS = {
    "G": 0.789, "BP": 1.002, "RP": 0.589,
    "J": 0.243, "H": 0.131, "K": 0.078,
    "W1": 0.039, "W2": 0.026,
}


def dust_density(R, z, av_per_kpc, scale_length, scale_height, r0):
    """Dust density as A_V per kpc of path at Galactocentric radius R and height z [kpc].

    ``av_per_kpc`` is the mid-plane value at R = r0 [mag/kpc]; the density is exponential in R
    (``scale_length`` [kpc]) and |z| (``scale_height`` [kpc]).
    """
    return av_per_kpc * np.exp(-(R - r0) / scale_length - np.abs(z) / scale_height)


def cumulative_av(R, z, d_grid, **dust):
    """A_V [mag] from the Sun to every distance of ``d_grid`` along sightlines.

    ``R`` and ``z`` [kpc] have shape (n, m): the Galactocentric radius and height of the points
    of each star's sightline at distances ``d_grid`` (shape (m,), increasing, starting at > 0).
    The integral uses the trapezoid rule, starting from zero at d = 0.
    """
    rho = dust_density(R, z, **dust)
    step = np.diff(np.concatenate([[0.0], d_grid]))
    rho_prev = np.concatenate([rho[:, :1], rho[:, :-1]], axis=1)
    return np.cumsum(0.5 * (rho + rho_prev) * step, axis=1)


def band_extinction(a_v):
    """Extinction [mag] in every band of :data:`EXTINCTION_RATIOS` for A_V ``a_v`` [mag]."""
    a_v = np.asarray(a_v, dtype=float)
    return {band: ratio * a_v for band, ratio in EXTINCTION_RATIOS.items()}
