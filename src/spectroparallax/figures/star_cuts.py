"""Star cuts a figure makes before drawing (config ``figures.figure5.cuts`` and ``figures.figure6.cuts``).

The paper drew its Figs. 5 and 6 from a cut sample (rotation_curve_uncertainties.py @ 4608f8b
lines 69-72 and @ 035a251 lines 67-70, 294, 347-348): stars with finite proper motions and
radial velocity and APOGEE [alpha/M] < 0.12; Fig. 6 also only v_z < 100 km/s and |[Fe/H]| < 10.
:func:`apply` makes those cuts in that order and counts the stars each one removes, so a figure
can say what it left out; the project's styles cut nothing.
"""

import numpy as np

#: The cuts in the order they are made, each with the words a figure shows for the stars it removes.
ORDER = ("motions", "alpha_m_max", "vz_max", "fe_h_abs_max")


def describe(name: str, value) -> str:
    """What the stars removed by cut ``name`` at ``value`` lack, in words."""
    return {"motions": "no finite pmra, pmdec or VHELIO_AVG",
            "alpha_m_max": f"[alpha/M] >= {value:g}",
            "vz_max": f"v_z >= {value:g} km/s (or no v_z)",
            "fe_h_abs_max": f"|[Fe/H]| >= {value:g} (or no [Fe/H])"}[name]


def apply(cuts: dict, lab: dict, vz=None) -> tuple[np.ndarray, dict]:
    """The stars that pass ``cuts`` and, per cut made, the number it removed from those left by the ones before.

    ``cuts``: {alpha_m_max, motions, vz_max, fe_h_abs_max} (null / false = not made); ``lab``:
    :func:`spectroparallax.figures.data.labels` (pmra, pmdec, rv, alpha_m, fe_h; NaN = missing);
    ``vz``: Galactocentric v_z [km/s] per star, needed when vz_max is set.

    As in the paper's script, a star without [alpha/M] (allStar -9999, read as NaN) passes
    ``ALPHA_M < alpha_m_max`` (-9999 < 0.12), while one without [Fe/H] fails ``|FE_H| < fe_h_abs_max``
    and one without v_z fails ``v_z < vz_max``. Returns (boolean mask, {description: count}).
    """
    fe_h = np.asarray(lab["fe_h"], float)
    keep = np.ones(fe_h.shape, bool)
    removed = {}
    for name in ORDER:
        value = cuts.get(name)
        if value is None or value is False:
            continue
        with np.errstate(invalid="ignore"):
            if name == "motions":
                passed = np.isfinite(lab["pmra"]) & np.isfinite(lab["pmdec"]) & np.isfinite(lab["rv"])
            elif name == "alpha_m_max":
                passed = ~(np.asarray(lab["alpha_m"], float) >= value)
            elif name == "vz_max":
                if vz is None:
                    raise ValueError("figure cuts: vz_max is set but no Galactocentric v_z was given "
                                     "(only figure6 computes velocities; set vz_max: null)")
                passed = np.asarray(vz, float) < value
            else:
                passed = np.abs(fe_h) < value
        removed[describe(name, value)] = int((keep & ~passed).sum())
        keep &= passed
    return keep, removed


def text(removed: dict) -> str:
    """The counts of :func:`apply` as lines for a figure ('' when no cut was made)."""
    return "\n".join(f"{n} cut: {what}" for what, n in removed.items())
