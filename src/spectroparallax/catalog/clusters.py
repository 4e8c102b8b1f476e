"""Cluster members and their mean parallaxes (HER19 Fig. 4).

The paper picked members of M67, M71 and M107 by hand; here membership is explicit: a star is a
member when it lies in a cone around the cluster centre, inside a proper-motion window and inside a
radial-velocity window (config.yaml ``clusters:``). Parallaxes are never used to choose members,
so the cluster test of the parallaxes stays independent of them.
"""

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table, vstack

from spectroparallax.archives.columns import as_float

#: Member-table columns: name -> (unit, description).
MEMBER_COLUMNS = {
    "cluster": ("", "cluster short name (config.yaml clusters: key)"),
    "2MASS_ID": ("", "APOGEE / 2MASS identifier"),
    "ra": ("deg", "Gaia right ascension (epoch 2015.5)"),
    "dec": ("deg", "Gaia declination (epoch 2015.5)"),
    "separation": ("deg", "angular distance from the cluster centre"),
    "pmra": ("mas / yr", "Gaia DR2 proper motion in RA * cos(Dec)"),
    "pmdec": ("mas / yr", "Gaia DR2 proper motion in Dec"),
    "pm_offset": ("mas / yr", "distance from the cluster proper motion in the (pmra, pmdec) plane"),
    "VHELIO_AVG": ("km / s", "APOGEE mean heliocentric radial velocity"),
    "LOGG": ("dex", "ASPCAP surface gravity"),
    "FE_H": ("dex", "ASPCAP [Fe/H]"),
    "Gaia_parallax": ("mas", "Gaia DR2 parallax plus the catalog's offset"),
    "Gaia_parallax_err": ("mas", "Gaia DR2 parallax uncertainty"),
    "spec_parallax": ("mas", "out-of-fold spectrophotometric parallax (NaN: no prediction)"),
    "spec_parallax_err": ("mas", "uncertainty of spec_parallax"),
    "training_set": ("", "1 if the star is in a Training Set"),
}


def select_members(ra, dec, pmra, pmdec, rv, cluster: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members of one cluster: inside the cone, the proper-motion window and the RV window.

    ``ra``, ``dec`` [deg], ``pmra``, ``pmdec`` [mas/yr], ``rv`` [km/s] per star; ``cluster`` is one
    entry of config.yaml ``clusters:`` (ra, dec, radius [deg], pmra, pmdec, pm_radius [mas/yr],
    rv, rv_window [km/s]). A star with a missing proper motion or radial velocity is not a
    member. Returns (member mask, separation [deg], proper-motion offset [mas/yr]).
    """
    centre = SkyCoord(ra=cluster["ra"] * u.deg, dec=cluster["dec"] * u.deg)
    stars = SkyCoord(ra=np.asarray(ra, float) * u.deg, dec=np.asarray(dec, float) * u.deg)
    separation = stars.separation(centre).to_value(u.deg)
    pm_offset = np.hypot(np.asarray(pmra, float) - cluster["pmra"], np.asarray(pmdec, float) - cluster["pmdec"])
    with np.errstate(invalid="ignore"):
        member = ((separation < cluster["radius"]) & (pm_offset < cluster["pm_radius"])
                  & (np.abs(np.asarray(rv, float) - cluster["rv"]) < cluster["rv_window"]))
    return member, separation, pm_offset


def member_table(cat: Table, parent: Table, clusters: dict) -> Table:
    """One row per member of every cluster in ``clusters`` (config.yaml ``clusters:``).

    ``cat`` is the catalog and ``parent`` the Parent Sample table, row for row (see
    :func:`spectroparallax.figures.data.check_aligned`). Columns: :data:`MEMBER_COLUMNS`, with
    units and descriptions; ``meta`` holds each cluster's window and member count.
    """
    ra, dec = as_float(cat["ra"]), as_float(cat["dec"])
    pmra, pmdec, rv = as_float(parent["pmra"]), as_float(parent["pmdec"]), as_float(parent["VHELIO_AVG"])
    parts = []
    meta = {}
    for name, cluster in clusters.items():
        member, separation, pm_offset = select_members(ra, dec, pmra, pmdec, rv, cluster)
        rows = np.flatnonzero(member)
        part = Table()
        part["cluster"] = np.full(rows.size, name, dtype=f"U{max(len(n) for n in clusters)}")
        part["2MASS_ID"] = np.asarray(cat["2MASS_ID"], dtype=str)[rows]
        part["ra"], part["dec"], part["separation"] = ra[rows], dec[rows], separation[rows]
        part["pmra"], part["pmdec"], part["pm_offset"] = pmra[rows], pmdec[rows], pm_offset[rows]
        part["VHELIO_AVG"] = rv[rows]
        part["LOGG"], part["FE_H"] = as_float(parent["LOGG"])[rows], as_float(parent["FE_H"])[rows]
        for col in ("Gaia_parallax", "Gaia_parallax_err", "spec_parallax", "spec_parallax_err"):
            part[col] = as_float(cat[col])[rows]
        part["training_set"] = np.asarray(cat["training_set"], dtype=np.int16)[rows]
        parts.append(part)
        meta[name] = {**cluster, "n_members": int(rows.size)}
    table = vstack(parts) if parts else Table(names=list(MEMBER_COLUMNS))
    for col, (unit, description) in MEMBER_COLUMNS.items():
        table[col].unit = unit or None
        table[col].description = description
    table.meta["clusters"] = meta
    return table


def weighted_mean(values, errors) -> tuple[float, float]:
    """Inverse-variance-weighted mean and its uncertainty: sum(w x) / sum(w), 1 / sqrt(sum(w)),
    with w = 1 / sigma^2 (same units as ``values``).

    Every value and error must be finite and every error positive; drop missing values before
    calling (the caller knows which star and why). Raises ValueError otherwise or if empty.
    """
    values, errors = np.asarray(values, dtype=float), np.asarray(errors, dtype=float)
    if values.size == 0:
        raise ValueError("weighted_mean of no values")
    if values.shape != errors.shape:
        raise ValueError(f"weighted_mean: {values.size} values but {errors.size} errors")
    if not (np.isfinite(values).all() and np.isfinite(errors).all() and (errors > 0).all()):
        raise ValueError("weighted_mean needs finite values and finite positive errors; "
                         f"got values {values.tolist()} errors {errors.tolist()}")
    w = 1.0 / errors**2
    return float(np.sum(w * values) / np.sum(w)), float(1.0 / np.sqrt(np.sum(w)))


def mean_parallaxes(members: Table, names) -> dict:
    """Inverse-variance-weighted mean Gaia and spectrophotometric parallax of each cluster.

    ``members``: :func:`member_table`; ``names``: the clusters to summarize. Returns
    {name: {"gaia": (mean, error, n), "spec": (mean, error, n)}} [mas]; members without a value
    or a positive error are left out of that mean (n says how many were used), and a cluster with
    none gets (nan, nan, 0).
    """
    out = {}
    for name in names:
        rows = members[np.asarray(members["cluster"], dtype=str) == name]
        out[name] = {}
        for key in ("gaia", "spec"):
            col = "Gaia_parallax" if key == "gaia" else "spec_parallax"
            values, errors = as_float(rows[col]), as_float(rows[f"{col}_err"])
            usable = np.isfinite(values) & np.isfinite(errors) & (errors > 0)
            mean, error = weighted_mean(values[usable], errors[usable]) if usable.any() else (np.nan, np.nan)
            out[name][key] = (mean, error, int(usable.sum()))
    return out


#: The training set's range per quantity: the 1st to 99th percentile of its stars (a cluster whose
#: members' median lies outside it is extrapolated by the model, e.g. a metal-poor globular).
RANGE_PERCENTILES = (1.0, 99.0)
#: Parent Sample columns compared with the training set's range: colour, metallicity, gravity, and the
#: apparent 2MASS H magnitude, because the magnitudes are features of the model: a cluster brighter
#: than every training star (the mock's M67 giants at 0.86 kpc, H ~ 4-7) is an extrapolation too.
RANGE_COLUMNS = {"bp_rp": "BP-RP", "FE_H": "[Fe/H]", "LOGG": "logg", "H": "H"}


def total_width(z) -> float:
    """sqrt(width^2 + median^2) of ``z`` (width: half the 16-84 percentile range), a robust root mean
    square about 0: for members' (spec_parallax - cluster_parallax) / spec_parallax_err it counts the
    error the members share (their median) as well as how they differ (their width). Whatever part of
    the quoted variance the members share, its square averages to 1 over clusters if the quoted
    errors are right in total, while the width alone falls below 1 by that part. NaN if empty."""
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    if z.size == 0:
        return float("nan")
    p16, p50, p84 = np.percentile(z, [16, 50, 84])
    return float(np.hypot(0.5 * (p84 - p16), p50))


def total_width_err(z, n_boot: int = 2000, seed: int = 0) -> float:
    """Bootstrap standard error of :func:`total_width` over the finite values of ``z`` (seeded);
    NaN for fewer than 3 values. It holds the members' number only: one cluster is one draw of the
    error its members share."""
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    if z.size < 3:
        return float("nan")
    draws = z[np.random.default_rng(seed).integers(0, z.size, size=(n_boot, z.size))]
    p16, p50, p84 = np.percentile(draws, [16, 50, 84], axis=1)
    return float(np.std(np.hypot(0.5 * (p84 - p16), p50), ddof=1))


def cluster_check(members: Table, parent: Table, clusters: dict) -> Table:
    """One row per cluster: its members' weighted mean spectrophotometric parallax and error against
    the cluster's parallax 1 / ``distance`` (config.yaml ``clusters``: the literature value; the mock
    places its clusters there), their pull, the members' scatter over their quoted errors (the
    robust width of (spec - weighted mean) / spec_err: 1 if the quoted errors describe how the
    members differ from one another), the robust width of (spec - cluster) / spec_err, their median
    (the offset the members share, in units of their errors) and :func:`total_width` of it (the
    members' spread about the cluster's parallax, shared offset included: the test of the total
    error; the scatter leaves out what the members share), and whether
    the members lie inside the training set's range of BP-RP, [Fe/H], logg and H
    (:data:`RANGE_PERCENTILES`), so an extrapolated cluster is named rather than hidden. ``members``: :func:`member_table`; ``parent``: the Parent Sample.
    """
    from spectroparallax.catalog.stats import robust_scatter, robust_scatter_err

    ids = np.char.strip(np.asarray(parent["APOGEE_ID"], dtype=str))
    training = np.asarray(parent["training"], bool)
    limits = {col: np.nanpercentile(as_float(parent[col])[training], RANGE_PERCENTILES) for col in RANGE_COLUMNS}
    means = mean_parallaxes(members, list(clusters))
    rows = []
    for name, cluster in clusters.items():
        m = members[np.asarray(members["cluster"], dtype=str) == name]
        reference = 1.0 / float(cluster["distance"])
        spec, err = as_float(m["spec_parallax"]), as_float(m["spec_parallax_err"])
        ok = np.isfinite(spec) & np.isfinite(err) & (err > 0)
        mean, mean_err, n = means[name]["spec"]
        pulls = (spec[ok] - reference) / err[ok]
        spread = (spec[ok] - mean) / err[ok]
        width, width_err = (robust_scatter(pulls), robust_scatter_err(pulls)) if ok.sum() >= 3 else (np.nan, np.nan)
        scatter, scatter_err = (robust_scatter(spread), robust_scatter_err(spread)) if ok.sum() >= 3 else (np.nan, np.nan)
        offset = float(np.median(pulls)) if ok.sum() >= 3 else np.nan
        total, total_err = (total_width(pulls), total_width_err(pulls)) if ok.sum() >= 3 else (np.nan, np.nan)
        where = np.isin(ids, np.asarray(m["2MASS_ID"], dtype=str))
        outside = []
        for col, label in RANGE_COLUMNS.items():
            median = np.nanmedian(as_float(parent[col])[where]) if where.any() else np.nan
            lo, hi = limits[col]
            if np.isfinite(median) and not lo <= median <= hi:
                outside.append(f"{label} {median:.2f} outside {lo:.2f}..{hi:.2f}")
        rows.append((name, cluster.get("name", name), n, reference, mean, mean_err,
                     (mean - reference) / mean_err if n else np.nan, scatter, scatter_err, width, width_err,
                     offset, total, total_err,
                     "; ".join(outside) if outside else "inside"))
    table = Table(rows=rows, names=("cluster", "name", "n_members", "cluster_parallax", "spec_parallax_mean",
                                    "spec_parallax_mean_err", "pull", "members_scatter", "members_scatter_err",
                                    "members_width", "members_width_err", "members_offset", "members_total",
                                    "members_total_err", "training_range"),
                  dtype=("U16", "U32", "i8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8",
                         "U160"))
    units = {"cluster_parallax": "mas", "spec_parallax_mean": "mas", "spec_parallax_mean_err": "mas"}
    descriptions = {
        "cluster": "cluster key in config.yaml clusters:",
        "name": "catalogue name",
        "n_members": "members with a spectrophotometric parallax and a positive error",
        "cluster_parallax": "1 / distance of config.yaml (literature; the mock's clusters sit there)",
        "spec_parallax_mean": "inverse-variance-weighted mean spec_parallax of the members",
        "spec_parallax_mean_err": "its uncertainty, 1 / sqrt(sum of weights)",
        "pull": "(spec_parallax_mean - cluster_parallax) / spec_parallax_mean_err",
        "members_scatter": "the members' scatter over their quoted errors: robust width of (spec_parallax - "
                           "spec_parallax_mean) / spec_parallax_err (1 if the errors describe how members differ; below 1 "
                           "by the share of the error the members have in common: see members_total)",
        "members_scatter_err": "bootstrap standard error of members_scatter (few members: it is large)",
        "members_width": "robust width of (spec_parallax - cluster_parallax) / spec_parallax_err over the members "
                         "(a width: an offset the members share does not widen it)",
        "members_width_err": "bootstrap standard error of members_width (few members: it is large)",
        "members_offset": "median of (spec_parallax - cluster_parallax) / spec_parallax_err over the members: the "
                          "error they share (e.g. the model's bias for their kind of star), in units of their errors",
        "members_total": "sqrt(members_width^2 + members_offset^2): the members' spread about the cluster's parallax "
                         "over their quoted errors, shared offset included, which tests the total error (its square "
                         "averages to 1 over clusters if the errors are right; members_scatter falls below 1 by the "
                         "share of the error the members have in common). One cluster is one draw of that shared "
                         "part; in real data the literature distance's own error is in it too",
        "members_total_err": "bootstrap standard error of members_total over the members (not over the shared draw)",
        "training_range": "inside, or which of the members' median BP-RP, [Fe/H], logg, H lies outside the "
                          "training set's 1-99 percentile range",
    }
    for col, text in descriptions.items():
        table[col].description = text
        table[col].unit = units.get(col)
    return table
