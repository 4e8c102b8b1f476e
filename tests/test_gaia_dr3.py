"""Gaia DR3 side: the release rule, the L21 zero point per star, and the mock's DR3 archive result."""

import gzip

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.archives import gaia_query, gaia_zero_point
from spectroparallax.archives.columns import fit_parallax
from spectroparallax.archives.gaia_release import gaia_release
from spectroparallax.catalog import table
from spectroparallax.mock import gaia_file
from spectroparallax.mock.catalog import simulate_catalog


def test_gaia_release_follows_the_apogee_release_unless_set():
    assert [gaia_release(r) for r in ("dr14", "dr16", "dr17")] == ["dr2", "dr3", "dr3"]
    assert gaia_release("dr14", "dr3") == "dr3" and gaia_release("dr17", "dr2") == "dr2"
    with pytest.raises(ValueError, match="gaia.release"):
        gaia_release("dr14", "edr3")
    with pytest.raises(ValueError, match="set gaia.release"):
        gaia_release("dr12")


def test_zero_point_on_a_few_stars_and_what_happens_outside_its_range():
    """The hand-picked cases: a red giant at G 14 near the ecliptic (L21's table: about -0.04 mas),
    one at G 10 at high latitude, a 6-parameter star, and three outside L21's range (G < 6, nu_eff
    below 1.1, a 2-parameter source) that are kept with NaN and left uncorrected."""
    t = Table({
        "phot_g_mean_mag": [14.0, 10.0, 15.0, 5.0, 14.0, 14.0],
        "nu_eff_used_in_astrometry": np.ma.masked_array([1.40, 1.50, 0, 1.5, 1.0, 0], mask=[0, 0, 1, 0, 0, 1]),
        "pseudocolour": np.ma.masked_array([0, 0, 1.45, 0, 0, 0], mask=[1, 1, 0, 1, 1, 1]),
        "ecl_lat": [0.0, 60.0, -30.0, 0.0, 0.0, 0.0],
        "astrometric_params_solved": np.array([31, 31, 95, 31, 31, 3], dtype=np.int16),
        "parallax": [0.5, 0.3, 0.2, 1.0, 0.4, np.nan],
    })
    out = gaia_zero_point.add_zero_point(t)
    z = np.asarray(out["parallax_zero_point"])
    assert -0.05 < z[0] < -0.035 and -0.035 < z[1] < -0.01 and -0.06 < z[2] < -0.01
    assert np.isnan(z[3:]).all() and list(out["zero_point_valid"]) == [True] * 3 + [False] * 3
    assert out.meta["NZPTOUT"] == 2                     # the 2-parameter source has no parallax to correct
    corrected = fit_parallax(out)
    np.testing.assert_allclose(corrected[:3], np.asarray(t["parallax"][:3]) - z[:3])   # parallax - Z: larger
    assert (corrected[:3] > np.asarray(t["parallax"][:3])).all()
    np.testing.assert_array_equal(corrected[3:5], [1.0, 0.4])                           # kept, uncorrected
    assert fit_parallax(t[:3]).tolist() == list(t["parallax"][:3])     # no zero-point column (DR2): as is
    # switches.zero_point paper: a constant offset only, so the DR3 parallaxes are fitted as they are.
    np.testing.assert_array_equal(fit_parallax(out, l21=False)[:5], np.asarray(t["parallax"][:5], float))


def test_the_catalog_says_which_zero_point_its_gaia_parallaxes_carry():
    """Gaia_parallax is parallax - Z + offset with the L21 correction, parallax + offset without;
    the header (PLXZP) and the column's description say which."""
    parent = Table({"APOGEE_ID": ["2M1", "2M2"], "source_id": [1, 2], "ra": [1.0, 2.0], "dec": [3.0, 4.0],
                    "parallax": [0.5, 0.3], "parallax_error": [0.05, 0.04], "parallax_zero_point": [-0.03, np.nan],
                    "training": [True, False], "fold": ["A", "B"]})
    spec, err = [0.51, 0.32], [0.02, 0.03]
    l21 = table.build_catalog(parent, spec, err, 0.01, 30.0, "h")
    const = table.build_catalog(parent, spec, err, 0.017, 30.0, "h", l21=False)
    np.testing.assert_allclose(l21["Gaia_parallax"], [0.5 + 0.03 + 0.01, 0.3 + 0.01])
    np.testing.assert_allclose(const["Gaia_parallax"], [0.5 + 0.017, 0.3 + 0.017])
    assert l21.meta["PLXZP"] == "L21" and "L21" in l21["Gaia_parallax"].description
    assert const.meta["PLXZP"] == "constant" and "L21" not in const["Gaia_parallax"].description
    dr2 = table.build_catalog(parent[["APOGEE_ID", "source_id", "ra", "dec", "parallax", "parallax_error",
                                      "training", "fold"]], spec, err, 0.048, 30.0, "h")
    assert dr2.meta["PLXZP"] == "constant" and "DR2" in dr2["Gaia_parallax"].description


@pytest.fixture(scope="module")
def mock_dr3(tmp_path_factory):
    allstar, gaia, truth = simulate_catalog(4000, 42, gaia_release="dr3")
    path = tmp_path_factory.mktemp("mock") / gaia_file.GAIA_FILE.format(release="dr3")
    gaia_file.write_gaia_result(gaia, path)
    return allstar, gaia, truth, path


def test_the_mock_dr3_result_is_a_gzip_binary2_votable_with_the_dr3_query_columns(mock_dr3):
    _, gaia, _, path = mock_dr3
    xml = gzip.open(path).read()
    assert b"<BINARY2>" in xml and b"<TABLEDATA>" not in xml
    back = Table.read(path, format="votable", use_names_over_ids=True)
    for name in ("tmass_listed_designation", "angular_distance", "number_of_mates", "nu_eff_used_in_astrometry",
                 "pseudocolour", "ecl_lat", "astrometric_params_solved", "ruwe"):   # gaia_archive.md sec. 3-4
        assert name in back.colnames
    np.testing.assert_array_equal(np.ma.filled(back["parallax"], np.nan), np.ma.filled(gaia["parallax"], np.nan))
    listed = np.asarray(back["tmass_listed_designation"]) != np.asarray(back["tmass_designation"])
    assert listed.sum() > 5                      # non-listed duplicates: still keyed by their own designation
    chunk = gaia_query.reduce_chunk(gaia_query.select_chunk(back, back["tmass_designation"][listed], release="dr3"),
                                    "dr3")
    assert len(chunk) >= listed.sum() and chunk["zero_point_valid"].mean() > 0.95


def test_the_corrected_mock_parallaxes_are_closer_to_the_truth(mock_dr3):
    """The mock's own L21-like zero point is in its parallaxes; the package's zero point, subtracted
    as the workflow does, brings them closer to the true parallaxes than the raw ones."""
    _, _, truth, path = mock_dr3
    back = Table.read(path, format="votable", use_names_over_ids=True)
    chunk = gaia_query.reduce_chunk(gaia_query.select_chunk(back, back["tmass_designation"], release="dr3"), "dr3")
    chunk = chunk[np.unique(chunk["tmass_designation"], return_index=True)[1]]
    first = np.unique(truth["APOGEE_ID"], return_index=True)[1]
    t = truth[first]
    t = t[np.isin([i[2:] for i in t["APOGEE_ID"]], chunk["tmass_designation"])]
    rows = np.searchsorted(chunk["tmass_designation"], [i[2:] for i in t["APOGEE_ID"]])
    raw = np.ma.filled(chunk["parallax"], np.nan)[rows]
    err = np.ma.filled(chunk["parallax_error"], np.nan)[rows]
    corr = fit_parallax(chunk)[rows]
    ok = np.isfinite(raw) & np.isfinite(err) & np.asarray(chunk["zero_point_valid"])[rows]
    w = 1 / err[ok] ** 2
    bias_raw = np.sum(w * (raw[ok] - t["parallax_true"][ok])) / w.sum()
    bias_corr = np.sum(w * (corr[ok] - t["parallax_true"][ok])) / w.sum()
    sigma = 1 / np.sqrt(w.sum())
    truth_z = np.sum(w * t["parallax_zero_point_true"][ok]) / w.sum()
    assert bias_raw == pytest.approx(truth_z, abs=4 * sigma)      # the mock put its zero point in
    assert abs(bias_corr) < abs(bias_raw) / 2 and abs(bias_corr) < 0.012


def test_the_dr2_mock_has_no_dr3_columns_and_its_constant_zero_point():
    _, g2, t2 = simulate_catalog(1000, 7)
    _, g3, t3 = simulate_catalog(1000, 7, gaia_release="dr3")
    assert "nu_eff_used_in_astrometry" not in g2.colnames and "parallax_zero_point_true" not in t2.colnames
    # Same stars and noise: the releases differ by the zero point only (DR2: -0.048 mas constant).
    d2 = np.ma.filled(g2["parallax"], np.nan) - np.ma.filled(g3["parallax"], np.nan)
    ok = np.isfinite(d2)
    z3 = g3["source_id"]  # rows in the same order in both
    assert (np.asarray(g2["source_id"]) == np.asarray(z3)).all()
    assert np.nanstd(d2[ok]) > 0 and abs(np.nanmedian(d2[ok]) - (-0.048 + 0.03)) < 0.015


@pytest.mark.slow
def test_the_dr17_x_dr3_mock_runs_to_a_catalog_and_corrects_the_parallaxes(config, tmp_path):
    """The mock in DR17 format (mock.release dr17, so Gaia DR3 by default: issue 18's acceptance),
    run to the catalog: its DR17 tree is read (apo1m and lco25m stars included), the DR3 chunks (file
    names carry the release) give every parent star the L21 zero point, and the parallaxes the model
    fits are closer to the mock's truth than Gaia's raw ones."""
    from conftest import job_counts, run_snakemake, write_mock_config

    write_mock_config(config, tmp_path, mock={"release": "dr17", "n_stars": 3000})
    out = run_snakemake(tmp_path, "--cores", "2", "catalog")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (tmp_path / "resources/mock/sas/dr17/apogee/spectro/aspcap/dr17/synspec_rev1/"
            "allStar-dr17-synspec_rev1.fits").exists()
    assert (tmp_path / "resources/mock/gaia_dr3_xmatch.vot.gz").exists()
    adql = (tmp_path / "resources/mock/gaia_dr3/chunk_0.adql").read_text()
    assert "Gaia DR3 rows" in adql
    cat = Table.read(tmp_path / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    assert len(cat) > 800 and "DR3" in cat["Gaia_parallax"].description
    assert cat.meta["PLXOFFST"] in config["model"]["dr3"]["offset_grid"]
    # The improved mode's DR3 quality cut (switches.quality_cut): ruwe in place of eq. 9-10, counted.
    cutflow = Table.read(tmp_path / "results/mock/samples/cutflow.csv")
    cuts = [str(c) for c in cutflow["cut"]]
    assert any(c.startswith(f"ruwe > {config['sample']['training']['ruwe_max']}") for c in cuts)
    assert not any(c.startswith("eq. 9") or c.startswith("eq. 10") for c in cuts)
    parent = Table.read(tmp_path / "results/mock/samples/parent.fits")
    truth = Table.read(tmp_path / "resources/mock/truth.fits")
    assert {"apo1m", "apo25m", "lco25m"} <= set(np.char.strip(np.asarray(parent["TELESCOPE"], str)).tolist())
    assert parent["parallax_zero_point"].unit == "mas" and np.asarray(parent["zero_point_valid"]).mean() > 0.95
    first = np.unique(truth["APOGEE_ID"], return_index=True)[1]
    t = truth[first]
    rows = np.searchsorted(t["APOGEE_ID"], np.char.strip(np.asarray(parent["APOGEE_ID"], str)))
    true = np.asarray(t["parallax_true"])[rows]
    raw = np.ma.filled(parent["parallax"], np.nan).astype(float)
    err = np.ma.filled(parent["parallax_error"], np.nan).astype(float)
    ok = np.isfinite(raw) & np.isfinite(err) & (err > 0)
    w = 1 / err[ok] ** 2
    bias = lambda p: np.sum(w * (p[ok] - true[ok])) / w.sum()   # noqa: E731
    assert abs(bias(fit_parallax(parent))) < abs(bias(raw)) / 2, (bias(fit_parallax(parent)), bias(raw))

    # switches.zero_point paper (with the paper's fixed setting, to keep it short): one constant offset
    # (model.dr3.constant.paper_offset) on the raw DR3 parallaxes; only training, crossval and catalog rerun.
    write_mock_config(config, tmp_path, mock={"release": "dr17", "n_stars": 3000},
                      switches={"zero_point": "paper", "hyperparameters": "paper"})
    plan = run_snakemake(tmp_path, "-n", "catalog")
    assert job_counts(plan) == {"train": 2, "crossval": 1, "catalog": 1}, plan.stdout[-3000:]
    assert "offset_0.017" in plan.stdout
    out = run_snakemake(tmp_path, "--cores", "2", "catalog")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    const = Table.read(tmp_path / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    offset = config["model"]["dr3"]["constant"]["paper_offset"]
    assert const.meta["PLXZP"] == "constant" and const.meta["PLXOFFST"] == offset and cat.meta["PLXZP"] == "L21"
    np.testing.assert_allclose(np.ma.filled(const["Gaia_parallax"], np.nan), raw + offset, rtol=1e-6, equal_nan=True)


def test_the_dr2_mock_result_reads_back_as_the_plain_votable_did(tmp_path):
    """The gzip BINARY2 file changes how the DR2 mock is written, not what a reader gets: every
    column, mask, dtype and unit equals the plain (TABLEDATA) VOTable the mock wrote before."""
    _, gaia, _ = simulate_catalog(600, 3)
    gaia_file.write_gaia_result(gaia, tmp_path / "new.vot.gz")
    gaia.write(tmp_path / "old.vot", format="votable")
    new, old = Table.read(tmp_path / "new.vot.gz", format="votable", use_names_over_ids=True), Table.read(tmp_path / "old.vot")
    assert new.colnames == old.colnames
    # As in the archive's own results (shared/data/gaia_real/): upper-case FIELD IDs, lower-case names.
    assert Table.read(tmp_path / "new.vot.gz").colnames == [c.upper() for c in old.colnames]
    for c in old.colnames:
        # text comes back as wide as its longest value (the archive sends char, no fixed width)
        same_type = new[c].dtype == old[c].dtype or new[c].dtype.kind == old[c].dtype.kind == "U"
        assert same_type and str(new[c].unit) == str(old[c].unit), c
        np.testing.assert_array_equal(np.ma.getmaskarray(new[c]), np.ma.getmaskarray(old[c]), err_msg=c)
        np.testing.assert_array_equal(np.ma.filled(new[c], 0), np.ma.filled(old[c], 0), err_msg=c)
