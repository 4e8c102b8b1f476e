"""Galactocentric positions and velocities of catalog stars (HER19 Fig. 6).

Distances are 1 / spectrophotometric parallax, never Gaia's; velocities come from Gaia DR2
proper motions and APOGEE radial velocities, turned into Galactocentric Cartesian coordinates by
astropy's ``Galactocentric`` frame (x points from the Sun towards the Galactic centre, so the Sun
sits at x ~ -R0; the disk rotates towards -y at the Sun).
"""

import numpy as np
from astropy import units as u
from astropy.coordinates import CartesianDifferential, Galactocentric, SkyCoord


def galactocentric_frame(galcen_distance: float, z_sun: float, galcen_v_sun) -> Galactocentric:
    """The Galactocentric frame of config.yaml's ``galactocentric:`` section.

    ``galcen_distance`` and ``z_sun`` [kpc], ``galcen_v_sun`` (U, V, W) [km/s].
    """
    return Galactocentric(galcen_distance=galcen_distance * u.kpc, z_sun=z_sun * u.kpc,
                          galcen_v_sun=CartesianDifferential(list(galcen_v_sun) * (u.km / u.s)))


def frame_from_config(section: dict) -> Galactocentric:
    """:func:`galactocentric_frame` from the ``galactocentric:`` config dict."""
    return galactocentric_frame(section["galcen_distance"], section["z_sun"], section["galcen_v_sun"])


def to_galactocentric(ra, dec, parallax, pmra, pmdec, radial_velocity, frame: Galactocentric) -> dict:
    """Galactocentric Cartesian positions [kpc] and velocities [km/s] of stars.

    ``ra``, ``dec`` [deg] (ICRS), ``parallax`` [mas] (the spectrophotometric one: distance =
    1 / parallax), ``pmra`` (times cos dec) and ``pmdec`` [mas/yr], ``radial_velocity`` [km/s]
    (heliocentric). Returns a dict of arrays x, y, z, vx, vy, vz and the cylindrical radius R
    [kpc]. Stars with a non-positive or non-finite parallax, or any non-finite input, get NaN.
    """
    ra, dec, parallax, pmra, pmdec, rv = (np.atleast_1d(np.asarray(a, dtype=float))
                                          for a in (ra, dec, parallax, pmra, pmdec, radial_velocity))
    ok = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(pmra) & np.isfinite(pmdec) & np.isfinite(rv)
    ok &= np.isfinite(parallax) & (parallax > 0)
    out = {key: np.full(ra.shape, np.nan) for key in ("x", "y", "z", "vx", "vy", "vz", "R")}
    if not ok.any():
        return out
    star = SkyCoord(ra=ra[ok] * u.deg, dec=dec[ok] * u.deg, distance=(1.0 / parallax[ok]) * u.kpc,
                    pm_ra_cosdec=pmra[ok] * u.mas / u.yr, pm_dec=pmdec[ok] * u.mas / u.yr,
                    radial_velocity=rv[ok] * u.km / u.s, frame="icrs")
    gc = star.transform_to(frame)
    pos = gc.cartesian.xyz.to_value(u.kpc)
    vel = gc.velocity.d_xyz.to_value(u.km / u.s)
    for key, values in zip(("x", "y", "z"), pos):
        out[key][ok] = values
    for key, values in zip(("vx", "vy", "vz"), vel):
        out[key][ok] = values
    out["R"][ok] = np.hypot(pos[0], pos[1])
    return out


def sun_position(frame: Galactocentric) -> tuple[float, float, float]:
    """The Sun's Galactocentric x, y, z [kpc] in ``frame``: (-sqrt(R0^2 - z_sun^2), 0, z_sun)."""
    r0 = frame.galcen_distance.to_value(u.kpc)
    z = frame.z_sun.to_value(u.kpc)
    return -np.sqrt(r0 * r0 - z * z), 0.0, z


def near_plane(z, R, z_max: float, max_angle_deg: float) -> np.ndarray:
    """Stars near the Galactic plane: |z| < ``z_max`` [kpc] or |z| / R < tan(``max_angle_deg``).

    NaN positions are never near the plane.
    """
    z, R = np.asarray(z, dtype=float), np.asarray(R, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.abs(z) < z_max) | (np.abs(z) / R < np.tan(np.deg2rad(max_angle_deg)))
