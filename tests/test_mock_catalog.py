"""The mock survey's catalogues against the facts of the real Gaia DR2 x APOGEE DR14 sample.

One 30k-row catalogue (a few seconds) is checked against the calibration facts given in the
project's issue (the real parent sample: 0 < logg <= 2.2, complete photometry, colour cuts eq.
6-7). Tolerances are set by the simulator's simplicity, not by sampling noise (which, with ~12k
parent stars, is a few percent of each quantity): they catch a mis-calibrated or broken mock.
"""

import numpy as np
import pytest
from astropy.table import join

from spectroparallax.archives.columns import GAIA_COLUMNS
from spectroparallax.mock import DEFAULT_KNOBS, simulate_catalog, true_normalized_flux
from spectroparallax.mock.catalog import allstar_spec
from spectroparallax.mock.clusters import CLUSTERS
from spectroparallax.spectra import apogee_grid

N_BIG = 30_000
#: DR14's missing-value placeholder (shared/data/sas_layout.md sec. 7).
ALLSTAR_MISSING = -9999.0


@pytest.fixture(scope="module")
def big():
    """The 30k-row catalogue with one Gaia row per star (no shared 2MASS neighbours: those have
    their own test below; the knob has its own random stream, so nothing else changes)."""
    return simulate_catalog(N_BIG, 7, shared_neighbour_fraction=0.0)


def test_shared_neighbour_mates_are_fainter_extra_gaia_sources():
    """The default mock adds, for shared_neighbour_fraction of the Gaia rows, a second Gaia source
    with the same 2MASS designation (as the archive returns them): fainter, nearby, own source_id;
    the truth counts them per star and every other row is unchanged."""
    _, alone, _ = simulate_catalog(3000, 3, shared_neighbour_fraction=0.0)
    _, gaia, truth = simulate_catalog(3000, 3)
    n_mates = int(np.asarray(truth["n_gaia_mates"])[~np.asarray(truth["is_duplicate_row"])].sum())
    assert n_mates == round(DEFAULT_KNOBS["shared_neighbour_fraction"] * len(alone)) > 0
    assert len(gaia) == len(alone) + n_mates and len(np.unique(np.asarray(gaia["source_id"]))) == len(gaia)
    old = np.isin(np.asarray(gaia["source_id"]), np.asarray(alone["source_id"]))
    mates = gaia[~old]
    primary = alone[np.argsort(np.asarray(alone["tmass_designation"]))]
    at = np.searchsorted(np.asarray(primary["tmass_designation"]), np.asarray(mates["tmass_designation"]))
    primary = primary[at]
    assert np.array_equal(np.asarray(primary["tmass_designation"]), np.asarray(mates["tmass_designation"]))
    d_g = np.asarray(mates["phot_g_mean_mag"]) - np.asarray(primary["phot_g_mean_mag"])
    assert np.all((d_g >= 2.0) & (d_g <= 5.0))
    sep = np.hypot((np.asarray(mates["ra"]) - np.asarray(primary["ra"])) * np.cos(np.deg2rad(primary["dec"])),
                   np.asarray(mates["dec"]) - np.asarray(primary["dec"])) * 3600
    assert np.all((sep > 0.49) & (sep < 2.01))
    ids = np.char.add("2M", np.asarray(mates["tmass_designation"]).astype(str))
    has = np.asarray(truth["APOGEE_ID"])[np.asarray(truth["n_gaia_mates"]) > 0]
    assert set(ids) == set(has)
    key = np.asarray(alone["source_id"])
    assert np.array_equal(np.sort(np.asarray(gaia[old]["source_id"])), np.sort(key))
    np.testing.assert_array_equal(gaia[old][np.argsort(np.asarray(gaia[old]["source_id"]))]["parallax"],
                                  alone[np.argsort(key)]["parallax"])


def _filled(col):
    return np.asarray(np.ma.filled(np.ma.asarray(col, dtype=float), np.nan))


@pytest.fixture(scope="module")
def parent(big, config):
    """Parent sample computed inline from the columns with the paper's cuts (config sample:)."""
    allstar, gaia, truth = big
    cut = config["sample"]
    g = gaia.copy()
    g["APOGEE_ID"] = np.char.add("2M", np.asarray(g["tmass_designation"]))
    t = truth[~truth["is_duplicate_row"]]["APOGEE_ID", "parallax_true", "distance", "A_G", "star_class"]
    a = allstar[(allstar["LOGG"] > cut["logg_min"]) & (allstar["LOGG"] <= cut["logg_max"])]
    m = join(join(a, g, keys="APOGEE_ID"), t, keys="APOGEE_ID")
    complete = np.all([np.isfinite(_filled(m[c])) for c in
                       ("phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag", "w1mpro", "w2mpro")], axis=0)
    m = m[complete]
    cc = cut["colour_cuts"]
    colour_ok = ((m["J"] - m["K"]) < cc["jk_intercept"] + cc["jk_slope"] * _filled(m["bp_rp"])) & (
        (m["H"] - _filled(m["w2mpro"])) > cc["hw2_min"])
    return m[colour_ok], 1 - colour_ok.mean(), len(a)


def test_catalogues_have_the_archive_columns(big):
    allstar, gaia, truth = big
    assert allstar.colnames == list(allstar_spec("dr14"))
    assert gaia.colnames == list(GAIA_COLUMNS)
    for name, (dtype, unit, desc) in allstar_spec("dr14").items():
        assert allstar[name].dtype == np.dtype(dtype) and desc, name
    for name, (dtype, _, _) in GAIA_COLUMNS.items():
        assert gaia[name].dtype == np.dtype(dtype), name
    assert len(allstar) == len(truth) == N_BIG
    assert np.all(allstar["APOGEE_ID"] == truth["APOGEE_ID"])
    ids = np.asarray(allstar["APOGEE_ID"])
    assert all(len(i) == 18 and i.startswith("2M") and i[10] in "+-" for i in ids[:200])


def test_same_seed_same_tables_other_seed_differs():
    a1, g1, t1 = simulate_catalog(400, 11)
    a2, g2, t2 = simulate_catalog(400, 11)
    a3, _, _ = simulate_catalog(400, 12)
    for x, y in ((a1, a2), (g1, g2), (t1, t2)):
        for name in x.colnames:
            assert np.array_equal(np.asarray(x[name]), np.asarray(y[name])), name
    assert not np.array_equal(np.asarray(a1["RA"]), np.asarray(a3["RA"]))


def test_unknown_knob_is_named():
    with pytest.raises(ValueError, match="dust_scale_hieght"):
        simulate_catalog(400, 1, dust_scale_hieght=0.1)


def test_config_mock_section_mirrors_the_simulator_defaults(config):
    mock = dict(config["mock"])
    assert set(mock) - {"n_stars", "seed", "release"} == set(DEFAULT_KNOBS)
    for key, value in DEFAULT_KNOBS.items():
        assert mock[key] == value, key


def test_parent_sample_size_and_colour_cuts(parent):
    p, colour_removed, n_logg = parent
    # Real: 44784 parent stars from ~100k allStar rows (~45%); colour cuts remove ~2%.
    assert 0.35 < len(p) / N_BIG < 0.55
    assert 0.005 < colour_removed < 0.04


def test_g_magnitude_percentiles(parent):
    g = _filled(parent[0]["phot_g_mean_mag"])
    got = np.percentile(g, [5, 25, 50, 75, 95])
    np.testing.assert_allclose(got, [10.9, 12.5, 13.7, 14.9, 16.7], atol=0.7)


def test_parallax_percentiles_and_distances(parent):
    p = parent[0]
    plx = _filled(p["parallax"])
    got = np.nanpercentile(plx, [16, 50, 84])
    assert np.all(np.abs(got - [0.12, 0.21, 0.38]) < [0.045, 0.03, 0.05]), got
    d = np.asarray(p["distance"])
    assert 3.0 < np.median(d) < 5.5
    assert np.mean(d > 20) < 0.02


@pytest.mark.parametrize("lo, hi, want", [(0, 15, 0.04), (15, 16, 0.06), (16, 17, 0.10), (17, 18, 0.15),
                                          (18, 19, 0.21)])
def test_parallax_error_versus_g(parent, lo, hi, want):
    p = parent[0]
    g, err = _filled(p["phot_g_mean_mag"]), _filled(p["parallax_error"])
    s = (g >= lo) & (g < hi) & np.isfinite(err)
    assert s.sum() > 50
    med = np.median(err[s])
    assert med == pytest.approx(want, rel=0.2)
    lo16, hi84 = np.percentile(err[s], [16, 84]) / med
    assert 0.5 < lo16 < 0.8 and 1.25 < hi84 < 1.75


def test_training_cuts_negative_parallaxes_and_high_snr(parent, config):
    p = parent[0]
    tr = config["sample"]["training"]
    plx, err = _filled(p["parallax"]), _filled(p["parallax_error"])
    has = np.isfinite(plx)
    ruwe_like = np.asarray(p["astrometric_chi2_al"]) / np.sqrt(np.asarray(p["astrometric_n_good_obs_al"]) - 5.0)
    train = has & (err < tr["parallax_error_max"]) & (
        np.asarray(p["visibility_periods_used"]) >= tr["visibility_periods_min"]) & (
        ruwe_like <= tr["astrometric_chi2_max"])
    # Real: 28226 of 44784 (63%) pass; >2% of them have negative parallaxes; ~1700 (3.8%) of the
    # parent sample has parallax / error >= 20.
    assert train.mean() == pytest.approx(0.63, abs=0.07)
    assert 0.005 < np.mean(plx[train] < 0) < 0.04
    assert 0.02 < np.mean(plx[has] / err[has] >= 20) < 0.07


def test_parallax_noise_and_zero_point_against_truth(big):
    _, gaia, truth = big
    t = truth[~truth["is_duplicate_row"]]
    t = t[np.argsort(np.asarray(t["APOGEE_ID"]))]
    key = np.char.add("2M", np.asarray(gaia["tmass_designation"]))
    t = t[np.searchsorted(np.asarray(t["APOGEE_ID"]), key)]
    assert np.all(np.asarray(t["APOGEE_ID"]) == key)
    plx, err = _filled(gaia["parallax"]), _filled(gaia["parallax_error"])
    ok = np.isfinite(plx)
    z = (plx[ok] - np.asarray(t["parallax_true"])[ok]) / err[ok]
    w = 1 / err[ok] ** 2
    offset = np.sum(w * (plx[ok] - np.asarray(t["parallax_true"])[ok])) / w.sum()
    assert offset == pytest.approx(-DEFAULT_KNOBS["parallax_zero_point"], abs=3 / np.sqrt(w.sum()) + 1e-4)
    z = z + DEFAULT_KNOBS["parallax_zero_point"] / err[ok]
    assert np.std(z) == pytest.approx(1.0, abs=0.03) and abs(np.mean(z)) < 0.03


def test_extinction_grows_towards_the_plane(parent):
    p = parent[0]
    b, a_g = np.abs(np.asarray(p["GLAT"])), np.asarray(p["A_G"])
    assert np.median(a_g[b < 2]) > 1.5
    assert np.median(a_g[b > 30]) < 0.3
    assert np.median(a_g[(b > 4) & (b < 10)]) < np.median(a_g[b < 2])


def test_luminosity_mass_and_geometry_are_consistent(big):
    _, _, t = big
    g_cgs = 6.674e-8 * t["mass"] * 1.989e33 / 10 ** np.asarray(t["logg"])
    l_cgs = 4 * np.pi * g_cgs * 5.670374e-5 * np.asarray(t["teff"]) ** 4
    np.testing.assert_allclose(l_cgs / 3.828e33, t["luminosity"], rtol=0.01)
    np.testing.assert_allclose(t["parallax_true"], 1 / np.asarray(t["distance"]), rtol=1e-12)
    sun = np.array([-DEFAULT_KNOBS["r0"], 0.0, DEFAULT_KNOBS["z_sun"]])
    d = np.sqrt((t["x"] - sun[0]) ** 2 + t["y"] ** 2 + (t["z"] - sun[2]) ** 2)
    np.testing.assert_allclose(d, t["distance"], rtol=2e-3)
    giants = np.asarray(t["star_class"]) == "upper_rgb"
    rich = giants & (np.asarray(t["alpha_m"]) > 0.2)
    poor = giants & (np.asarray(t["alpha_m"]) < 0.05)
    assert np.median(t["mass"][rich]) == pytest.approx(1.0, abs=0.12)
    assert 1.3 < np.median(t["mass"][poor]) < 1.6
    assert np.asarray(t["distance"]).max() < 25.5


def test_h_selection_and_star_mix(big):
    allstar, _, t = big
    field = np.asarray(t["cluster"]) == ""
    h = np.asarray(t["H_true"])[field]
    assert h.min() > DEFAULT_KNOBS["h_bright"] - 0.05 and h.max() < max(DEFAULT_KNOBS["h_faint"]) + 0.05
    logg = np.asarray(allstar["LOGG"])
    assert np.sum((logg > 2.3) & (logg < 2.6)) > 0.05 * N_BIG          # red clump
    assert np.sum(logg > 3.8) > 0.03 * N_BIG                            # dwarfs
    assert 0.005 < np.mean(logg == ALLSTAR_MISSING) < 0.05
    assert np.any(np.asarray(allstar["K_ERR"]) == ALLSTAR_MISSING)


def test_duplicates_share_the_star_but_not_the_field(big):
    allstar, gaia, t = big
    dup = np.asarray(t["is_duplicate_row"])
    assert 0.01 < dup.mean() < 0.06
    ids, counts = np.unique(np.asarray(allstar["APOGEE_ID"]), return_counts=True)
    assert counts.max() == 2 and np.sum(counts == 2) == dup.sum()
    twice = np.isin(np.asarray(allstar["APOGEE_ID"]), ids[counts == 2])
    a = allstar[twice]
    a = a[np.argsort(np.asarray(a["APOGEE_ID"]), kind="stable")]
    assert np.all(a["LOCATION_ID"][0::2] != a["LOCATION_ID"][1::2])
    capped = (a["SNR"][0::2] == a["SNR"].max()) & (a["SNR"][1::2] == a["SNR"].max())
    assert np.all((a["SNR"][0::2] != a["SNR"][1::2]) | capped)
    assert np.all(a["RA"][0::2] == a["RA"][1::2])
    # Each location is one FIELD; EXTRATARG bit 4 marks exactly the lower-S/N row of each pair
    # (a tie at the S/N cap leaves one of the two unmarked).
    assert np.all(a["FIELD"][0::2] != a["FIELD"][1::2])
    # (apo1m rows share LOCATION_ID 1 over several fields: sas_layout.md sec. 3)
    big_telescope = np.asarray(allstar["TELESCOPE"]) == "apo25m"
    pairs = np.unique(np.c_[np.asarray(allstar["LOCATION_ID"]), np.asarray(allstar["FIELD"])][big_telescope], axis=0)
    assert len(np.unique(pairs[:, 0])) == len(pairs) == len(np.unique(pairs[:, 1]))
    flagged = (np.asarray(a["EXTRATARG"]) & 16) > 0
    assert np.all(flagged[0::2] ^ flagged[1::2])
    lower = np.where(flagged[0::2], a["SNR"][0::2], a["SNR"][1::2])
    higher = np.where(flagged[0::2], a["SNR"][1::2], a["SNR"][0::2])
    assert np.all(lower <= higher)
    assert np.sum((np.asarray(allstar["EXTRATARG"]) & 16) > 0) == dup.sum()
    # No star has two rows with the same telescope and field (they would be one file).
    keys = np.char.add(np.char.add(np.asarray(allstar["APOGEE_ID"]), np.asarray(allstar["TELESCOPE"])),
                       np.asarray(allstar["FIELD"]))
    assert len(np.unique(keys)) == len(allstar)
    # Gaia has one row per distinct star.
    assert len(np.unique(np.asarray(gaia["tmass_designation"]))) == len(gaia)
    assert len(gaia) == np.sum(np.asarray(t["in_gaia"]) & ~dup)


def test_gaia_missing_values_follow_the_truth_flags(big):
    _, gaia, t = big
    t = t[~np.asarray(t["is_duplicate_row"]) & np.asarray(t["in_gaia"])]
    order = np.argsort(np.asarray(t["APOGEE_ID"]))
    key = np.char.add("2M", np.asarray(gaia["tmass_designation"]))
    t = t[order][np.searchsorted(np.asarray(t["APOGEE_ID"])[order], key)]
    assert np.array_equal(~np.ma.getmaskarray(gaia["bp_rp"]), np.asarray(t["has_bp_rp"]))
    assert np.array_equal(~np.ma.getmaskarray(gaia["w2mpro"]), np.asarray(t["has_w2"]))
    assert np.array_equal(~np.ma.getmaskarray(gaia["parallax"]), np.asarray(t["has_parallax"]))
    var = np.asarray(gaia["phot_variable_flag"]) == "VARIABLE"
    assert np.array_equal(var, np.asarray(t["is_variable"])) and 0.01 < var.mean() < 0.08
    assert set(np.unique(np.asarray(gaia["phot_variable_flag"]))) == {"VARIABLE", "NOT_AVAILABLE"}
    assert 0.003 < np.mean(~np.asarray(t["has_bp_rp"])) < 0.05
    assert 0.003 < np.mean(~np.asarray(t["has_w2"])) < 0.05


def test_cluster_members_share_distance_motion_and_metallicity(big):
    allstar, gaia, t = big
    for name, c in CLUSTERS.items():
        m = (np.asarray(t["cluster"]) == name) & ~np.asarray(t["is_duplicate_row"])
        assert m.sum() == DEFAULT_KNOBS["cluster_members"]
        np.testing.assert_allclose(t["distance"][m], c["distance"], rtol=0.02)
        np.testing.assert_allclose(t["pmra_true"][m], c["pmra"], atol=0.25)
        np.testing.assert_allclose(t["pmdec_true"][m], c["pmdec"], atol=0.25)
        np.testing.assert_allclose(t["rv_true"][m], c["rv"], atol=5.0)
        np.testing.assert_allclose(t["fe_h"][m], c["fe_h"], atol=0.15)
        np.testing.assert_allclose(allstar["RA"][m], c["ra"], atol=0.5)
        assert len(np.unique(np.asarray(allstar["LOCATION_ID"][m]))) == 1
        logg = np.asarray(t["logg"][m])
        assert np.mean(logg <= 2.2) > 0.6


def test_true_flux_at_continuum_pixels_has_only_weak_lines_and_responds_to_labels():
    teff, logg, feh, alpha = [4300, 4300, 4600, 4300], [1.5, 2.0, 1.5, 1.5], [0.0, 0.0, 0.0, -0.5], [0, 0, 0, 0.1]
    f = true_normalized_flux(teff, logg, feh, alpha)
    assert f.shape == (4, apogee_grid.N_PIXELS)
    cont = apogee_grid.continuum_pixels()
    # the strong lines avoid the continuum pixels; the weak forest absorbs there, a little
    assert np.all(true_normalized_flux(teff, logg, feh, alpha, weak_lines=0)[:, cont] == 1.0)
    depth = 1.0 - f[:, cont]
    assert np.all(depth >= 0) and 0.2 < np.mean(depth[0] > 0.001) < 0.7 and np.median(depth[0][depth[0] > 0.001]) < 0.01
    assert np.mean(depth[3]) < np.mean(depth[0])          # metal-poor: weaker weak lines too
    assert np.all(f[:, apogee_grid.chip_of_pixel() < 0] == 1.0)
    in_chip = apogee_grid.chip_of_pixel() >= 0
    assert np.mean(f[0, in_chip] < 0.99) > 0.1                          # lines exist
    for j in (1, 2, 3):                                                 # each label moves lines
        assert np.max(np.abs(np.log(f[j]) - np.log(f[0]))) > 0.05
    # Lower metallicity: weaker lines on average.
    assert np.mean(np.log(f[3])) > np.mean(np.log(f[0]))



def test_disk_kinematics_round_trip_through_proper_motions(big):
    """Catalogue pm and RV, transformed back to the Galactocentric frame, give the thin disk's
    rotation (v_circ - lag), zero mean radial and vertical motion and the input dispersions."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from spectroparallax.mock.galaxy import KINEMATICS, galactocentric_frame

    allstar, _, t = big
    s = np.asarray((t["population"] == "thin") & ~t["is_duplicate_row"])
    s &= np.abs(np.hypot(t["x"], t["y"]) - 8.0) < 2.0
    c = SkyCoord(ra=np.asarray(allstar["RA"])[s] * u.deg, dec=np.asarray(allstar["DEC"])[s] * u.deg,
                 distance=np.asarray(t["distance"])[s] * u.kpc,
                 pm_ra_cosdec=np.asarray(t["pmra_true"])[s] * u.mas / u.yr,
                 pm_dec=np.asarray(t["pmdec_true"])[s] * u.mas / u.yr,
                 radial_velocity=np.asarray(t["rv_true"])[s] * u.km / u.s)
    k = DEFAULT_KNOBS
    gc = c.transform_to(galactocentric_frame(k["r0"], k["z_sun"], k["v_sun"]))
    x, y = gc.cartesian.x.to_value(u.kpc), gc.cartesian.y.to_value(u.kpc)
    vx, vy, vz = gc.velocity.d_xyz.to_value(u.km / u.s)
    phi = np.arctan2(y, x)
    v_r = vx * np.cos(phi) + vy * np.sin(phi)
    v_phi = -vx * np.sin(phi) + vy * np.cos(phi)
    kin = KINEMATICS["thin"]
    assert s.sum() > 2000
    assert np.mean(-v_phi) == pytest.approx(k["v_circ"] - kin["lag"], abs=2.5)
    assert abs(np.mean(v_r)) < 3.0 and abs(np.mean(vz)) < 2.0
    np.testing.assert_allclose([np.std(v_r), np.std(v_phi), np.std(vz)], kin["sigma"], rtol=0.1)


def test_instrument_continuum_is_not_the_normalizers_quadratic_and_spans_like_real_apstar():
    """Per chip the default continuum falls 5-15 percent across the chip in a quadratic fit (the real
    apStar spectra of the reference data: 4-16 percent), slopes down to the red on average (real:
    linear terms -0.02 to -0.07), and leaves wiggles of a few tenths of a percent that no quadratic
    follows (measured median rms 0.32 percent; a quadratic continuum would leave 0)."""
    from numpy.polynomial import chebyshev

    from spectroparallax.mock import instrument_continuum
    from spectroparallax.mock.spectra import draw_continuum_parameters

    params = draw_continuum_parameters(500, np.random.default_rng(0), DEFAULT_KNOBS["continuum_amplitude"],
                                       DEFAULT_KNOBS["continuum_tilt"], DEFAULT_KNOBS["continuum_blaze_depth"],
                                       DEFAULT_KNOBS["continuum_wiggle"], DEFAULT_KNOBS["continuum_knots"])
    cont = instrument_continuum(params)
    wl, chip = apogee_grid.wavelength(), apogee_grid.chip_of_pixel()
    assert np.all(cont[:, chip < 0] == 1.0) and np.all(cont > 0)
    for k, (lo, hi) in enumerate(apogee_grid.CHIPS):
        sel = chip == k
        x = (2.0 * wl[sel] - (lo + hi)) / (hi - lo)
        y = cont[:, sel] / np.median(cont[:, sel], axis=1, keepdims=True)
        coef = chebyshev.chebfit(x, y.T, 2)
        fit = chebyshev.chebval(x, coef)
        assert 0.05 < np.median(np.ptp(fit, axis=1)) < 0.15
        assert -0.07 < np.median(coef[1]) < -0.02
        assert 0.002 < np.median(np.std(y - fit, axis=1)) < 0.005


def test_apo1m_rows_are_bright_stars_with_location_1_and_leave_the_rest_as_it_was():
    """DR14's 1-m rows (sas_layout.md sec. 3): LOCATION_ID 1, their own FIELD, EXTRATARG bit 3
    (APO1M), the brightest stars, some of them a star's second row beside its apo25m one; the
    telescopes have their own random stream, so without apo1m rows every other column is unchanged."""
    allstar, _, truth = simulate_catalog(3000, 4)
    plain, _, plain_truth = simulate_catalog(3000, 4, apo1m_fraction=0.0)
    one_m = np.asarray(allstar["TELESCOPE"]) == "apo1m"
    assert one_m.sum() == round(DEFAULT_KNOBS["apo1m_fraction"] * 3000) and set(allstar["TELESCOPE"]) == {"apo25m", "apo1m"}
    assert np.all(allstar["LOCATION_ID"][one_m] == 1) and not np.any(allstar["LOCATION_ID"][~one_m] == 1)
    assert np.all(np.asarray(allstar["EXTRATARG"])[one_m] & 8) and not np.any(np.asarray(allstar["EXTRATARG"])[~one_m] & 8)
    assert not set(allstar["FIELD"][one_m]) & set(allstar["FIELD"][~one_m])
    assert np.median(allstar["H"][one_m]) < np.percentile(allstar["H"], 10)
    ids = np.asarray(allstar["APOGEE_ID"])
    assert np.isin(ids[one_m], ids[~one_m]).sum() > 0          # a star seen by both telescopes
    assert set(plain["TELESCOPE"]) == {"apo25m"}
    for name in allstar.colnames:
        same = np.asarray(allstar[name]) == np.asarray(plain[name])
        if name in ("TELESCOPE", "LOCATION_ID", "FIELD", "EXTRATARG"):
            assert np.array_equal(~same, one_m) or (name == "EXTRATARG" and np.all(same[~one_m])), name
        else:
            assert np.all(same | (np.asarray(allstar[name]) != np.asarray(allstar[name]))), name
