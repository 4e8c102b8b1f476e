"""Cluster membership and mean parallaxes (Fig. 4): hand calculations and the mock's clusters."""

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.catalog import clusters

M67 = {"name": "NGC 2682", "ra": 132.85, "dec": 11.81, "radius": 0.5, "pmra": -10.97, "pmdec": -2.94,
       "pm_radius": 0.6, "rv": 34.0, "rv_window": 4.0, "distance": 0.86}


def test_weighted_mean_by_hand():
    # w = 1, 1, 1/4; sum w = 2.25; mean = (1 + 2 + 3/4) / 2.25 = 5/3; error = 1 / 1.5 = 2/3.
    mean, error = clusters.weighted_mean([1.0, 2.0, 3.0], [1.0, 1.0, 2.0])
    assert mean == pytest.approx(5 / 3) and error == pytest.approx(2 / 3)
    assert clusters.weighted_mean([0.25], [0.01]) == pytest.approx((0.25, 0.01))


@pytest.mark.parametrize("values, errors", [([], []), ([1.0, np.nan], [1.0, 1.0]), ([1.0], [0.0]), ([1.0, 2.0], [1.0])])
def test_weighted_mean_refuses_bad_input(values, errors):
    with pytest.raises(ValueError):
        clusters.weighted_mean(values, errors)


def test_select_members_by_cone_proper_motion_and_rv():
    # 0: centre, right motion; 1: 0.6 deg away; 2: proper motion 1 mas/yr off; 3: RV 5 km/s off;
    # 4: no RV; 5: 0.4 deg north, pm 0.5 off, RV 3.9 off (inside every window).
    ra = [132.85, 132.85, 132.85, 132.85, 132.85, 132.85]
    dec = [11.81, 12.41, 11.81, 11.81, 11.81, 12.21]
    pmra = [-10.97, -10.97, -9.97, -10.97, -10.97, -10.47]
    pmdec = [-2.94] * 6
    rv = [34.0, 34.0, 34.0, 39.0, np.nan, 30.1]
    member, sep, pm_offset = clusters.select_members(ra, dec, pmra, pmdec, rv, M67)
    assert member.tolist() == [True, False, False, False, False, True]
    assert sep == pytest.approx([0, 0.6, 0, 0, 0, 0.4], abs=1e-9)
    assert pm_offset == pytest.approx([0, 0, 1.0, 0, 0, 0.5])


def test_select_members_uses_true_angular_distance_across_ra_zero():
    # Centre at RA 0.05, Dec 60: a star at RA 359.75 is 0.3 deg of RA away = 0.15 deg on the sky.
    cluster = {**M67, "ra": 0.05, "dec": 60.0, "radius": 0.2, "pmra": 0.0, "pmdec": 0.0, "rv": 0.0}
    member, sep, _ = clusters.select_members([359.75], [60.0], [0.0], [0.0], [0.0], cluster)
    assert member[0] and sep[0] == pytest.approx(0.15, abs=1e-3)


def _tables():
    cat = Table({"2MASS_ID": ["2Ma", "2Mb", "2Mc"], "ra": [132.85, 132.9, 200.0], "dec": [11.81, 11.8, 0.0],
                 "Gaia_parallax": [1.1, 1.2, 0.3], "Gaia_parallax_err": [0.05, 0.1, 0.05],
                 "spec_parallax": np.ma.array([1.0, 1.3, 0.2], mask=[False, True, False]),
                 "spec_parallax_err": np.ma.array([0.1, 0.1, 0.02], mask=[False, True, False]),
                 "training_set": [1, 0, 1]})
    parent = Table({"APOGEE_ID": ["2Ma", "2Mb", "2Mc"], "pmra": [-10.9, -11.0, 0.0], "pmdec": [-2.9, -3.0, 0.0],
                    "VHELIO_AVG": [33.0, 35.0, 0.0], "LOGG": [1.5, 2.0, 1.0], "FE_H": [0.0, 0.05, -1.0]})
    return cat, parent


def test_member_table_has_units_and_every_column():
    cat, parent = _tables()
    members = clusters.member_table(cat, parent, {"M67": M67})
    assert list(members["2MASS_ID"]) == ["2Ma", "2Mb"]
    assert members.colnames == list(clusters.MEMBER_COLUMNS)
    assert str(members["Gaia_parallax"].unit) == "mas" and str(members["pmra"].unit) == "mas / yr"
    assert all(members[c].description for c in members.colnames)
    assert members.meta["clusters"]["M67"]["n_members"] == 2
    assert np.isnan(members["spec_parallax"][1])      # no prediction: kept as NaN, not dropped


def test_mean_parallaxes_leave_out_missing_values_and_say_so():
    cat, parent = _tables()
    members = clusters.member_table(cat, parent, {"M67": M67, "M71": {**M67, "ra": 298.44, "dec": 18.78}})
    means = clusters.mean_parallaxes(members, ["M67", "M71"])
    # Gaia: w = 400, 100 -> (440 + 120) / 500 = 1.12, error 1 / sqrt(500).
    assert means["M67"]["gaia"] == pytest.approx((1.12, 1 / np.sqrt(500), 2))
    assert means["M67"]["spec"] == pytest.approx((1.0, 0.1, 1))
    assert means["M71"]["gaia"][2] == 0 and np.isnan(means["M71"]["gaia"][0])


def test_the_rule_finds_the_mock_clusters(figures_run):
    """results/mock/clusters/members.ecsv of the mock run against the truth's cluster column.

    Completeness counts the true members that made it into the catalog (the Parent Sample);
    purity counts the selected stars that are true members.
    """
    work, _, _ = figures_run
    members = Table.read(work / "results/mock/clusters/members.ecsv")
    cat = Table.read(work / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    truth = Table.read(work / "resources/mock/truth.fits")
    true_cluster = dict(zip(np.char.strip(np.asarray(truth["APOGEE_ID"], str)),
                            np.char.strip(np.asarray(np.ma.filled(truth["cluster"], ""), str))))
    in_catalog = np.asarray(cat["2MASS_ID"], str)
    lines = []
    for name in ("M67", "M71", "M107"):
        chosen = set(np.asarray(members["2MASS_ID"][members["cluster"] == name], str))
        true = {i for i in in_catalog if true_cluster.get(i) == name}
        purity = len(chosen & true) / max(len(chosen), 1)
        completeness = len(chosen & true) / max(len(true), 1)
        lines.append(f"{name}: {len(chosen)} selected, {len(true)} true members in the catalog, "
                     f"purity {purity:.2f}, completeness {completeness:.2f}")
        assert len(true) >= 5, lines[-1]
        assert purity >= 0.9 and completeness >= 0.8, lines[-1]
    print("\n".join(lines))


def test_cluster_check_by_hand():
    from spectroparallax.catalog.stats import robust_scatter, robust_scatter_err

    n = 200
    rng = np.random.default_rng(3)
    ids = [f"2M{i:08d}" for i in range(n)]
    parent = Table({"APOGEE_ID": ids, "training": np.r_[np.ones(190, bool), np.zeros(10, bool)],
                    "FE_H": np.r_[rng.uniform(-0.5, 0.3, 190), np.full(10, -2.0)],
                    "LOGG": rng.uniform(1.0, 2.0, n), "bp_rp": rng.uniform(1.0, 2.0, n),
                    "H": np.r_[rng.uniform(8.0, 12.0, 190), np.full(10, 4.0)]})
    err = np.array([0.02, 0.02, 0.04, 0.04])
    near = 1 / 0.8 + err * np.array([-1.0, 0.0, 1.0, 0.5])
    far = 1 / 5.0 + err * np.array([2.0, -2.0, 4.0, 0.0])
    members = Table({"cluster": ["near"] * 4 + ["poor"] * 4, "2MASS_ID": ids[:4] + ids[-4:],
                     "spec_parallax": np.r_[near, far], "spec_parallax_err": np.r_[err, err],
                     "Gaia_parallax": np.full(8, 0.5), "Gaia_parallax_err": np.full(8, 0.1)})
    check = clusters.cluster_check(members, parent, {"near": {"name": "Near", "distance": 0.8},
                                                     "poor": {"name": "Poor", "distance": 5.0}})
    near_row, poor_row = check[0], check[1]
    w = 1 / err ** 2
    assert near_row["cluster_parallax"] == pytest.approx(1.25)
    assert near_row["spec_parallax_mean"] == pytest.approx(np.sum(w * near) / np.sum(w))
    assert near_row["members_width"] == pytest.approx(robust_scatter(np.array([-1.0, 0.0, 1.0, 0.5])))
    assert near_row["members_width_err"] == pytest.approx(robust_scatter_err(np.array([-1.0, 0.0, 1.0, 0.5])))
    spread = (near - near_row["spec_parallax_mean"]) / err          # about the members' own mean
    assert near_row["members_scatter"] == pytest.approx(robust_scatter(spread))
    assert near_row["members_scatter_err"] == pytest.approx(robust_scatter_err(spread))
    assert near_row["members_scatter"] != pytest.approx(near_row["members_width"])
    assert near_row["pull"] == pytest.approx((near_row["spec_parallax_mean"] - 1.25) / near_row["spec_parallax_mean_err"])
    assert near_row["training_range"] == "inside" and near_row["n_members"] == 4
    assert poor_row["training_range"].startswith("[Fe/H] -2.00 outside")
    assert poor_row["training_range"].endswith("; H 4.00 outside " + "{:.2f}..{:.2f}".format(
        *np.percentile(parent["H"][:190], clusters.RANGE_PERCENTILES)))     # brighter than every training star
    assert poor_row["members_width"] == pytest.approx(robust_scatter(np.array([2.0, -2.0, 4.0, 0.0])))
    # The members' shared offset and the total width about the cluster's parallax: median 0.25 and
    # 1.0 of the pulls above, sqrt(width^2 + median^2).
    assert near_row["members_offset"] == pytest.approx(0.25) and poor_row["members_offset"] == pytest.approx(1.0)
    assert near_row["members_total"] == pytest.approx(np.hypot(near_row["members_width"], 0.25))
    assert poor_row["members_total"] == pytest.approx(np.hypot(poor_row["members_width"], 1.0))
    assert np.isfinite(near_row["members_total_err"]) and near_row["members_total_err"] > 0


def test_total_width_by_hand():
    # z = -1, 0, 1, 2, 5 (mean 1.4): percentiles 16/50/84 by linear interpolation are -0.36, 1, 3.08.
    z = np.array([-1.0, 0.0, 1.0, 2.0, 5.0, np.nan])
    assert clusters.total_width(z) == pytest.approx(np.hypot(1.72, 1.0))
    assert np.isnan(clusters.total_width([])) and np.isnan(clusters.total_width_err([1.0, 2.0]))


def _simulated_check(rng, n_clusters, n_members, shared, own, quoted):
    """cluster_check of ``n_clusters`` clusters whose members' spectrophotometric parallaxes err by a
    part they share (sd ``shared``) plus their own (sd ``own``), in units of a true fractional
    error, with quoted errors ``quoted`` times that."""
    names = [f"c{k}" for k in range(n_clusters)]
    distance = rng.uniform(1.0, 8.0, n_clusters)
    true = np.repeat(1.0 / distance, n_members)
    sigma = 0.1 * true
    z = np.repeat(rng.normal(0.0, shared, n_clusters), n_members) + rng.normal(0.0, own, true.size)
    ids = [f"2M{i:08d}" for i in range(true.size)]
    parent = Table({"APOGEE_ID": ids, "training": np.ones(true.size, bool), "FE_H": np.zeros(true.size),
                    "LOGG": np.ones(true.size), "bp_rp": np.ones(true.size), "H": np.full(true.size, 10.0)})
    members = Table({"cluster": np.repeat(names, n_members), "2MASS_ID": ids, "spec_parallax": true + sigma * z,
                     "spec_parallax_err": quoted * sigma, "Gaia_parallax": true,
                     "Gaia_parallax_err": np.full(true.size, 0.1)})
    return clusters.cluster_check(members, parent, {k: {"name": k, "distance": d} for k, d in zip(names, distance)})


def test_members_total_tests_the_total_error_when_members_share_it():
    # Members share 0.8 of their error's sd and have 0.6 of their own (0.64 + 0.36 = 1): with errors
    # right in total, the scatter about their own mean is ~0.6 and cannot reach 1, while the total
    # width's square averages to 1 over clusters; errors quoted 1.5 times too large show as 1/1.5.
    rng = np.random.default_rng(11)
    right = _simulated_check(rng, 250, 40, shared=0.8, own=0.6, quoted=1.0)
    assert np.mean(right["members_scatter"]) == pytest.approx(0.6, abs=0.05)
    assert np.sqrt(np.mean(np.square(right["members_total"]))) == pytest.approx(1.0, abs=0.08)
    too_large = _simulated_check(rng, 250, 40, shared=0.8, own=0.6, quoted=1.5)
    assert np.sqrt(np.mean(np.square(too_large["members_total"]))) == pytest.approx(1 / 1.5, abs=0.05)
