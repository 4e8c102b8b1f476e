"""Where the mock's stars are and how they move: fields, Galactic populations, kinematics.

Geometry: the Sun sits at Galactocentric radius ``r0`` [kpc], height ``z_sun`` [kpc]. Three
populations (thin disk, thick disk, bulge) have number densities of giants per unit volume
(arbitrary common units); velocities are a flat rotation curve plus Gaussian dispersions and
are turned into proper motions and radial velocities with astropy's Galactocentric frame.
"""

import numpy as np
import astropy.units as u
from astropy.coordinates import (
    CartesianDifferential, CartesianRepresentation, Galactic, Galactocentric, ICRS, SkyCoord,
)

POPULATIONS = ("thin", "thick", "bulge")

#: Density shapes [kpc] and relative normalizations (thick/thin at the Sun; bulge/thin at R=0).
DENSITY = {
    "thin": {"scale_length": 2.6, "scale_height": 0.30, "norm": 1.0},
    "thick": {"scale_length": 2.0, "scale_height": 0.90, "norm": 0.12},
    "bulge": {"scale_radius": 0.7, "flattening": 0.6, "norm": 4.0},
}

#: Velocity dispersions (sigma_R, sigma_phi, sigma_z) [km/s] and rotation lag [km/s].
KINEMATICS = {
    "thin": {"sigma": (35.0, 25.0, 18.0), "lag": 5.0},
    "thick": {"sigma": (65.0, 45.0, 40.0), "lag": 40.0},
    "bulge": {"sigma": (110.0, 100.0, 90.0), "lag": 180.0},
}


def galactocentric_cylindrical(l, b, d, r0, z_sun):
    """Galactocentric radius R and height z [kpc] of points at (l, b) [deg], distance d [kpc].

    Broadcasts its inputs. Uses the plain geometry (the Sun at x = -r0, z = z_sun, Galactic
    plane parallel to the Sun's), accurate to ~z_sun^2/r0 for the density grids.
    """
    lr, br = np.deg2rad(l), np.deg2rad(b)
    x = d * np.cos(br) * np.cos(lr) - r0
    y = d * np.cos(br) * np.sin(lr)
    z = d * np.sin(br) + z_sun
    return np.hypot(x, y), z


def population_density(pop, R, z, r0):
    """Number density of giants of population ``pop`` at (R, z) [kpc], common arbitrary units.

    Thin and thick disks are double exponentials normalized at the Sun (thin = 1 there); the
    bulge is an exponential in the flattened radius sqrt(R^2 + (z/q)^2), normalized at R = 0
    relative to the thin disk's central density.
    """
    if pop in ("thin", "thick"):
        p = DENSITY[pop]
        return p["norm"] * np.exp(-(R - r0) / p["scale_length"] - np.abs(z) / p["scale_height"])
    if pop == "bulge":
        p = DENSITY["bulge"]
        central_thin = np.exp(r0 / DENSITY["thin"]["scale_length"])
        r = np.sqrt(R**2 + (z / p["flattening"]) ** 2)
        return p["norm"] * central_thin * np.exp(-r / p["scale_radius"])
    raise ValueError(f"unknown population {pop!r}; expected one of {POPULATIONS}")


def draw_fields(n_fields, rng, dec_min, field_radius):
    """Field centres (l, b) [deg] of an APOGEE-like footprint seen from the north.

    40 percent of the fields lie at |b| < 2.5 deg, 38 percent at 2.5-10 deg and 22 percent at
    high latitude (uniform in sin b); longitudes favour the inner Galaxy. Centres below
    ``dec_min`` [deg] (too far south for the telescope) are redrawn.
    Returns (l, b, location_id) arrays; location IDs are unique integers.
    """
    l_out, b_out = np.empty(0), np.empty(0)
    while l_out.size < n_fields:
        m = 4 * n_fields
        kind = rng.choice(3, size=m, p=[0.4, 0.38, 0.22])
        l = np.where(rng.random(m) < 0.6, rng.normal(30.0, 45.0, m), rng.uniform(0, 360, m)) % 360
        sign = rng.choice([-1.0, 1.0], size=m)
        b = np.select(
            [kind == 0, kind == 1],
            [rng.uniform(-2.5, 2.5, m), sign * rng.uniform(2.5, 10.0, m)],
            sign * np.rad2deg(np.arcsin(rng.uniform(np.sin(np.deg2rad(10.0)), 1.0, m))),
        )
        dec = SkyCoord(l=l * u.deg, b=b * u.deg, frame="galactic").icrs.dec.deg
        ok = dec - field_radius > dec_min
        l_out, b_out = np.concatenate([l_out, l[ok]]), np.concatenate([b_out, b[ok]])
    loc = 4000 + rng.choice(6000, size=n_fields, replace=False)
    return l_out[:n_fields], b_out[:n_fields], loc


def scatter_in_field(l0, b0, radius, rng):
    """Uniform random positions (l, b) [deg] within ``radius`` [deg] of centres (l0, b0)."""
    n = np.size(l0)
    r = radius * np.sqrt(rng.random(n))
    phi = rng.uniform(0, 2 * np.pi, n)
    b = np.clip(b0 + r * np.sin(phi), -89.999, 89.999)
    l = (l0 + r * np.cos(phi) / np.cos(np.deg2rad(b))) % 360
    return l, b


def galactocentric_frame(r0, z_sun, v_sun):
    """astropy Galactocentric frame with distance ``r0`` [kpc], ``z_sun`` [kpc], ``v_sun`` [km/s]."""
    return Galactocentric(
        galcen_distance=r0 * u.kpc, z_sun=z_sun * u.kpc,
        galcen_v_sun=CartesianDifferential(list(v_sun) * (u.km / u.s)),
    )


def positions_and_kinematics(l, b, d, population, rng, r0, z_sun, v_sun, v_circ):
    """Place stars and draw their velocities; return a dict of arrays.

    Inputs: Galactic (l, b) [deg], heliocentric distance d [kpc], population names, and the
    Galactocentric frame parameters; ``v_circ`` [km/s] is the flat rotation speed (solid-body
    inside 1 kpc). Returns ra, dec [deg], x, y, z [kpc] (astropy Galactocentric), pmra (with
    cos dec), pmdec [mas/yr] and rv [km/s] (heliocentric).
    """
    frame = galactocentric_frame(r0, z_sun, v_sun)
    gal = SkyCoord(l=l * u.deg, b=b * u.deg, distance=d * u.kpc, frame=Galactic)
    gc = gal.transform_to(frame)
    x, y, z = (gc.cartesian.xyz.to_value(u.kpc))
    R = np.hypot(x, y)
    phi = np.arctan2(y, x)
    n = len(l)
    v_r, v_phi, v_z = np.zeros(n), np.zeros(n), np.zeros(n)
    for pop in POPULATIONS:
        sel = population == pop
        k = KINEMATICS[pop]
        rot = np.maximum(v_circ * np.minimum(R[sel], 1.0) - k["lag"], 0.0)
        v_r[sel] = rng.normal(0.0, k["sigma"][0], sel.sum())
        # astropy's Galactocentric has the disk rotating towards -phi (v_y < 0 at the Sun's x < 0).
        v_phi[sel] = -(rot + rng.normal(0.0, k["sigma"][1], sel.sum()))
        v_z[sel] = rng.normal(0.0, k["sigma"][2], sel.sum())
    vx = v_r * np.cos(phi) - v_phi * np.sin(phi)
    vy = v_r * np.sin(phi) + v_phi * np.cos(phi)
    rep = CartesianRepresentation(x * u.kpc, y * u.kpc, z * u.kpc).with_differentials(
        CartesianDifferential(vx * u.km / u.s, vy * u.km / u.s, v_z * u.km / u.s)
    )
    icrs = SkyCoord(frame.realize_frame(rep)).transform_to(ICRS())
    return {
        "ra": icrs.ra.deg, "dec": icrs.dec.deg, "x": x, "y": y, "z": z,
        "pmra": icrs.pm_ra_cosdec.to_value(u.mas / u.yr), "pmdec": icrs.pm_dec.to_value(u.mas / u.yr),
        "rv": icrs.radial_velocity.to_value(u.km / u.s),
    }
