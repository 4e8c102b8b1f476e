"""Three star clusters of the mock at the real positions of M67, M71 and M107 (HER19 Fig. 4).

Members share a distance, proper motion, radial velocity, metallicity and extinction; only a
small internal spread is added. Values are literature facts of the clusters, not choices of
the paper.
"""

import numpy as np

#: name: ra, dec [deg], pmra, pmdec [mas/yr], rv [km/s], distance [kpc], [Fe/H], [alpha/M],
#: E(B-V) [mag].
CLUSTERS = {
    "M67": {"ra": 132.85, "dec": 11.81, "pmra": -10.97, "pmdec": -2.94, "rv": 34.0,
            "distance": 0.86, "fe_h": 0.0, "alpha_m": 0.0, "ebv": 0.04},
    "M71": {"ra": 298.44, "dec": 18.78, "pmra": -3.42, "pmdec": -2.66, "rv": -23.0,
            "distance": 4.0, "fe_h": -0.78, "alpha_m": 0.25, "ebv": 0.25},
    "M107": {"ra": 248.13, "dec": -13.05, "pmra": -1.93, "pmdec": -5.98, "rv": -35.0,
             "distance": 6.4, "fe_h": -1.0, "alpha_m": 0.3, "ebv": 0.33},
}
#: R_V = A_V / E(B-V) of the diffuse interstellar medium.
R_V = 3.1


def draw_members(name, n, rng):
    """Positions, kinematics and chemistry of ``n`` members of cluster ``name`` (dict of arrays).

    Members lie within ~0.1 deg of the centre, with internal dispersions of 0.05 mas/yr in
    proper motion, 1 km/s in RV, 0.03 dex in [Fe/H] and a depth of 0.3 percent in distance.
    """
    c = CLUSTERS[name]
    r = 0.1 * np.sqrt(rng.random(n))
    phi = rng.uniform(0, 2 * np.pi, n)
    dec = c["dec"] + r * np.sin(phi)
    return {
        "ra": (c["ra"] + r * np.cos(phi) / np.cos(np.deg2rad(dec))) % 360, "dec": dec,
        "pmra": c["pmra"] + rng.normal(0, 0.05, n), "pmdec": c["pmdec"] + rng.normal(0, 0.05, n),
        "rv": c["rv"] + rng.normal(0, 1.0, n),
        "distance": c["distance"] * (1 + rng.normal(0, 0.003, n)),
        "fe_h": c["fe_h"] + rng.normal(0, 0.03, n), "alpha_m": c["alpha_m"] + rng.normal(0, 0.02, n),
        "a_v": np.full(n, R_V * c["ebv"]) * np.exp(rng.normal(0, 0.05, n)),
    }
