"""The mock survey's files: formats, headers, defects and spectra against the truth (small survey)."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from spectroparallax.archives.columns import GAIA_COLUMNS
from spectroparallax.mock import instrument_continuum, true_normalized_flux, write_mock_survey
from spectroparallax.mock import spectra as mock_grid
from spectroparallax.mock.catalog import allstar_spec
from spectroparallax.mock.sas_tree import aspcapstar_relpath


N_SMALL = 300
SEED = 5
#: The DR14 version strings (config.yaml apogee.versions.dr14), as write_mock_survey takes them.
DR14 = {"apred": "r8", "aspcap": "l31c", "results": "l31c.2"}
N_PIXELS = 8575


@pytest.fixture(scope="module")
def survey(tmp_path_factory, config):
    out = tmp_path_factory.mktemp("mock")
    versions = dict(config["apogee"]["versions"]["dr14"])
    assert versions == DR14
    paths = write_mock_survey(out, "dr14", versions, N_SMALL, SEED, missing_spectrum_fraction=0.02)
    allstar = Table.read(paths["allstar"], hdu=1)
    truth = Table.read(paths["truth"])
    gaia = Table.read(paths["gaia"], format="votable", use_names_over_ids=True)
    return paths, allstar, truth, gaia, versions


def _spec_path(survey, i):
    paths, allstar, _, _, versions = survey
    row = allstar[i]
    return paths["sas"] / aspcapstar_relpath("dr14", versions, row["TELESCOPE"], row["FIELD"], row["LOCATION_ID"],
                                             row["APOGEE_ID"], row["FILE"])


def test_tables_have_the_archive_columns(survey):
    paths, allstar, truth, gaia, _ = survey
    assert allstar.colnames == list(allstar_spec("dr14"))
    for name, (dtype, _, _) in allstar_spec("dr14").items():
        want = np.dtype(dtype)
        got = allstar[name].dtype
        assert got.kind == want.kind or (want.kind == "U" and got.kind == "S"), name
        assert got.itemsize == want.itemsize or want.kind == "U", name
    assert gaia.colnames == list(GAIA_COLUMNS)
    assert str(gaia["phot_g_mean_flux"].unit) == "electron / s"
    assert len(truth) == len(allstar) == N_SMALL
    assert np.all(np.char.strip(truth["APOGEE_ID"].astype(str)) == np.char.strip(allstar["APOGEE_ID"].astype(str)))
    files = np.char.strip(allstar["FILE"].astype(str))
    assert np.all(files == np.char.add(np.char.add("apStar-r8-", np.char.strip(allstar["APOGEE_ID"].astype(str))), ".fits"))
    assert set(np.char.strip(allstar["TELESCOPE"].astype(str))) == {"apo25m", "apo1m"}


@pytest.mark.filterwarnings("ignore:Error validating header")
def test_spectrum_files_exist_exactly_as_the_truth_says(survey):
    _, allstar, truth, _, _ = survey
    status = np.asarray(truth["spectrum_status"]).astype(str)
    assert np.sum(status == "unreadable") == 1
    assert np.sum(status == "missing") >= 1
    for i in range(len(allstar)):
        path = _spec_path(survey, i)
        assert path.exists() == (status[i] in ("ok", "unreadable")), (i, status[i])
        if status[i] == "unreadable":
            with pytest.raises(Exception):
                with fits.open(path) as h:
                    h[2].data.sum()
    # No temporary files left behind by the atomic writes.
    assert not list(Path(_spec_path(survey, 0)).parents[1].rglob(".*"))


@pytest.fixture(scope="module")
def spectra(survey):
    _, allstar, truth, _, _ = survey
    ok = np.flatnonzero(np.asarray(truth["spectrum_status"]).astype(str) == "ok")
    flux, err, hdr = [], [], None
    for i in ok:
        with fits.open(_spec_path(survey, i)) as h:
            assert h[0].header["OBJ"].strip() == allstar["APOGEE_ID"][i].strip()
            flux.append(h[1].data.astype(float))
            err.append(h[2].data.astype(float))
            assert h[1].data.dtype == np.dtype(">f4") and h[1].data.shape == (N_PIXELS,)
            hdr = h[1].header
    return ok, np.array(flux), np.array(err), hdr


def test_spectrum_headers_gaps_and_edges(spectra, survey):
    ok, flux, err, hdr = spectra
    truth = survey[2]
    assert hdr["CRVAL1"] == 4.179 and hdr["CDELT1"] == 6e-6 and hdr["CRPIX1"] == 1
    assert hdr["CTYPE1"] == "LOG-LINEAR"
    gap = mock_grid.chip_of_pixel() < 0
    # aspcapStar gaps are flux 0 and error 0 (sas_layout.md sec. 5), and so are the dead edges.
    assert np.all(flux[:, gap] == 0) and np.all(err[:, gap] == 0)
    assert np.array_equal(flux == 0, err == 0)
    zero_in_chip = np.sum((flux == 0) & ~gap, axis=1)
    assert np.array_equal(zero_in_chip, np.asarray(truth["edge_zero_pixels"][ok]).sum(axis=1))
    assert np.array_equal(np.isnan(flux).sum(axis=1), np.asarray(truth["n_nan_pixels"][ok]))
    assert np.any(truth["n_nan_pixels"][ok] > 0)
    # A coverage threshold anywhere between 10 and 90 percent keeps 7405 of the 7451 in-chip pixels.
    coverage = np.mean((flux != 0) & ~gap, axis=0)
    assert np.sum(coverage > 0.1) == np.sum(coverage > 0.9) == 7405


def test_flux_over_true_continuum_matches_the_true_spectrum_within_noise(spectra, survey):
    ok, flux, err, _ = spectra
    t = survey[2][ok]
    cont = instrument_continuum(t["continuum_params"])
    f_true = true_normalized_flux(t["teff"], t["logg"], t["fe_h"], t["alpha_m"])
    good = (err > 0) & np.isfinite(flux)
    cpix = np.zeros(N_PIXELS, bool)
    cpix[mock_grid.continuum_pixels()] = True
    with np.errstate(divide="ignore", invalid="ignore"):   # error 0 where there is no data
        chi = (flux / cont - f_true) / (err / cont)
    c = good & cpix
    assert np.mean(chi[c] ** 2) == pytest.approx(1.0, abs=0.03)
    assert np.mean(chi[good] ** 2) == pytest.approx(1.0, abs=0.03)
    # At continuum pixels only the weak lines absorb: some pixels, by a few tenths of a percent.
    depth = 1.0 - f_true[:, cpix & (mock_grid.chip_of_pixel() >= 0)]
    assert 0.1 < np.mean(depth > 0.001) < 0.7 and 0.0005 < np.mean(depth) < 0.005 and depth.max() < 0.05
    # The continuum is not flat: dividing by it matters (a few percent across each chip).
    assert np.median(np.ptp(cont[:, mock_grid.chip_of_pixel() == 0], axis=1)) > 0.01


def test_gaia_votable_rows_and_masks(survey):
    _, allstar, truth, gaia, _ = survey
    distinct = ~np.asarray(truth["is_duplicate_row"])
    # one row per Gaia source: each star Gaia found, plus the fainter mates sharing its 2MASS source
    mates = np.asarray(truth["n_gaia_mates"])[distinct]
    assert len(gaia) == np.sum(np.asarray(truth["in_gaia"])[distinct]) + mates.sum() and mates.sum() > 0
    designation = np.char.strip(np.asarray(gaia["tmass_designation"]).astype(str))
    _, count = np.unique(designation, return_counts=True)
    assert np.sum(count - 1) == mates.sum() and count.max() == 2
    names = set(np.char.add("2M", np.asarray(gaia["tmass_designation"]).astype(str)))
    ids = np.char.strip(np.asarray(truth["APOGEE_ID"]).astype(str))
    assert names == set(ids[np.asarray(truth["in_gaia"])])
    assert len(np.unique(np.asarray(gaia["source_id"]))) == len(gaia)


def test_spectra_logg_range_knob_skips_other_rows(tmp_path, config):
    paths = write_mock_survey(tmp_path, "dr14", DR14, 120, 3, spectra_logg_range=[0.0, 2.2])
    allstar = Table.read(paths["allstar"], hdu=1)
    truth = Table.read(paths["truth"])
    status = np.asarray(truth["spectrum_status"]).astype(str)
    inside = (allstar["LOGG"] > 0.0) & (allstar["LOGG"] <= 2.2)
    assert np.all((status == "not_written") == ~inside)
    written = sorted(p.name for p in paths["sas"].rglob("aspcapStar-*.fits"))
    assert len(written) == np.sum(np.isin(status, ["ok", "unreadable"]))


def test_same_seed_writes_identical_spectra(tmp_path, config):
    a = write_mock_survey(tmp_path / "a", "dr14", DR14, 100, 9, spectra_logg_range=[0.0, 1.0])
    b = write_mock_survey(tmp_path / "b", "dr14", DR14, 100, 9, spectra_logg_range=[0.0, 1.0])
    fa = sorted(a["sas"].rglob("aspcapStar-*.fits"))
    fb = sorted(b["sas"].rglob("aspcapStar-*.fits"))
    assert fa and [p.relative_to(a["sas"]) for p in fa] == [p.relative_to(b["sas"]) for p in fb]
    for p, q in zip(fa[:5], fb[:5]):
        assert p.read_bytes() == q.read_bytes()
