"""Galactocentric positions and velocities (Fig. 6) on stars whose answer is known by hand."""

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from spectroparallax.catalog import galactic


@pytest.fixture(scope="module")
def frame(config):
    return galactic.frame_from_config(config["galactocentric"])


def test_config_frame_has_the_papers_values(frame):
    assert frame.galcen_distance.to_value(u.kpc) == pytest.approx(8.122)
    assert frame.z_sun.to_value(u.pc) == pytest.approx(25.0)
    assert np.allclose(frame.galcen_v_sun.xyz.to_value(u.km / u.s), [11.1, 245.8, 7.8])


def test_a_star_at_the_galactic_centre_is_at_the_origin(frame):
    # In the direction of Sgr A* (the frame's centre) at parallax 1 / 8.122 kpc, at rest w.r.t.
    # the Sun: the origin, moving with the Sun's velocity.
    centre = frame.galcen_coord
    gc = galactic.to_galactocentric(centre.ra.deg, centre.dec.deg, 1 / 8.122, 0.0, 0.0, 0.0, frame)
    assert np.allclose([gc["x"][0], gc["y"][0], gc["z"][0], gc["R"][0]], 0.0, atol=1e-9)
    assert np.allclose([gc["vx"][0], gc["vy"][0], gc["vz"][0]], [11.1, 245.8, 7.8], atol=1e-6)


def test_the_anticentre_and_the_sun(frame):
    # A star 2 kpc (parallax 0.5 mas) towards the anticentre (Sgr A* + 180 deg) lies on the line
    # from the centre through the Sun, (R0 + 2) / R0 times as far as the Sun: the Sun is at
    # (-sqrt(R0^2 - z_sun^2), 0, z_sun).
    centre = frame.galcen_coord
    anti = SkyCoord(centre).directional_offset_by(0 * u.deg, 180 * u.deg)
    gc = galactic.to_galactocentric(anti.ra.deg, anti.dec.deg, 0.5, 0.0, 0.0, 0.0, frame)
    stretch = (8.122 + 2.0) / 8.122
    assert gc["x"][0] == pytest.approx(-np.sqrt(8.122**2 - 0.025**2) * stretch, abs=1e-9)
    assert gc["z"][0] == pytest.approx(0.025 * stretch, abs=1e-9)
    assert abs(gc["y"][0]) < 1e-9
    # The Sun: a star at a negligible distance.
    near = galactic.to_galactocentric(10.0, 20.0, 1e9, 0.0, 0.0, 0.0, frame)
    assert np.allclose([near["x"][0], near["y"][0], near["z"][0]], galactic.sun_position(frame), atol=1e-8)
    assert galactic.sun_position(frame)[0] == pytest.approx(-np.sqrt(8.122**2 - 0.025**2))


def test_a_radial_velocity_moves_a_centre_star_towards_the_centre(frame):
    # A star at the centre receding from the Sun by 100 km/s moves along +x (away from the Sun).
    centre = frame.galcen_coord
    gc = galactic.to_galactocentric(centre.ra.deg, centre.dec.deg, 1 / 8.122, 0.0, 0.0, 100.0, frame)
    tilt = np.arcsin(0.025 / 8.122)
    expected = np.array([11.1, 245.8, 7.8]) + 100.0 * np.array([np.cos(tilt), 0.0, -np.sin(tilt)])
    assert np.allclose([gc["vx"][0], gc["vy"][0], gc["vz"][0]], expected, atol=1e-6)


def test_stars_without_a_positive_parallax_or_motion_get_nan_not_dropped(frame):
    gc = galactic.to_galactocentric([10.0, 10.0, 10.0, 10.0], [5.0] * 4, [0.2, -0.1, 0.2, np.nan],
                                    [1.0, 1.0, np.nan, 1.0], [1.0] * 4, [0.0] * 4, frame)
    assert gc["x"].shape == (4,)
    assert np.isfinite(gc["x"][0]) and np.isnan(gc["x"][1:]).all() and np.isnan(gc["vx"][1:]).all()


def test_near_plane_by_height_or_angle():
    # |z| < 0.5 kpc, or |z| / R < tan(6 deg) = 0.105.
    z = np.array([0.4, -0.6, 0.6, 1.2, np.nan])
    R = np.array([2.0, 10.0, 3.0, 10.0, 8.0])
    assert galactic.near_plane(z, R, 0.5, 6.0).tolist() == [True, True, False, False, False]
