"""Reading aspcapStar / apStar files: layouts, the combined row, and clear errors for bad files."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from spectroparallax.spectra import apogee_grid
from spectroparallax.spectra.read import read_spectra, read_spectrum

DATA = Path(__file__).parent / "data"
APSTAR = DATA / "apStar-dr14era-2M16333217+3942519.fits"


def _grid_header():
    return fits.Header({"CRVAL1": apogee_grid.LOG10_LAMBDA_START, "CDELT1": apogee_grid.LOG10_LAMBDA_STEP})


def _write(path, flux, err, header=None):
    header = _grid_header() if header is None else header
    fits.HDUList([
        fits.PrimaryHDU(), fits.ImageHDU(flux, header=header), fits.ImageHDU(err, header=header),
        fits.ImageHDU(np.zeros(np.shape(flux), dtype=np.int16)),
    ]).writeto(path)
    return path


def test_real_dr14_apstar_reads_as_float32_with_pipeline_placeholders_intact():
    flux, err = read_spectrum(APSTAR)
    assert flux.shape == err.shape == (apogee_grid.N_PIXELS,)
    assert flux.dtype == err.dtype == np.float32
    with fits.open(APSTAR) as hdul:
        np.testing.assert_array_equal(flux, hdul[1].data.astype(np.float32))
        np.testing.assert_array_equal(err, hdul[2].data.astype(np.float32))
    # DR14 chip gaps: flux 0 with error 1e10, left for the normalization to mask.
    gap = err >= 1e9
    assert gap.sum() > 0 and np.all(flux[gap] == 0)
    assert np.all(apogee_grid.chip_of_pixel()[gap] == -1)
    assert np.median(flux[~gap]) > 0


def test_multivisit_apstar_returns_the_combined_first_row(tmp_path):
    f0, e0 = read_spectrum(APSTAR)
    # DR17-like: float64, (n_visits + 2, 8575), NaN in gaps; rows 1.. are other combinations/visits.
    flux = np.stack([f0, 2 * f0, 3 * f0, 4 * f0]).astype(np.float64)
    err = np.stack([e0, 2 * e0, 3 * e0, 4 * e0]).astype(np.float64)
    flux[:, :10] = np.nan
    path = _write(tmp_path / "apStar-multi.fits", flux, err)
    f, e = read_spectrum(path)
    assert f.dtype == np.float32 and f.shape == (apogee_grid.N_PIXELS,)
    np.testing.assert_array_equal(f[10:], f0[10:])
    np.testing.assert_array_equal(e, e0)
    assert np.isnan(f[:10]).all()


def test_aspcapstar_layout_reads(tmp_path):
    rng = np.random.default_rng(3)
    flux = rng.uniform(0.5, 1.1, apogee_grid.N_PIXELS).astype(np.float32)
    err = np.full(apogee_grid.N_PIXELS, 0.01, dtype=np.float32)
    gap = apogee_grid.chip_of_pixel() < 0
    flux[gap], err[gap] = 0.0, 1e10
    path = _write(tmp_path / "aspcapStar-r8-l31c.2-2M00000000+0000000.fits", flux, err)
    f, e = read_spectrum(path)
    np.testing.assert_array_equal(f, flux)
    np.testing.assert_array_equal(e, err)


def test_missing_file_error_names_the_file(tmp_path):
    path = tmp_path / "nope.fits"
    with pytest.raises(FileNotFoundError, match="nope.fits"):
        read_spectrum(path)


def test_truncated_file_error_names_the_file(tmp_path):
    path = tmp_path / "truncated.fits"
    path.write_bytes(APSTAR.read_bytes()[:20000])
    with pytest.raises(ValueError, match="truncated.fits"):
        read_spectrum(path)


def test_wrong_shape_and_wrong_grid_are_refused(tmp_path):
    short = _write(tmp_path / "short.fits", np.ones(4000, np.float32), np.ones(4000, np.float32))
    with pytest.raises(ValueError, match=r"short\.fits.*\(4000,\)"):
        read_spectrum(short)
    header = _grid_header()
    header["CDELT1"] = 1e-5
    other = _write(tmp_path / "othergrid.fits", np.ones(8575, np.float32), np.ones(8575, np.float32), header)
    with pytest.raises(ValueError, match=r"othergrid\.fits.*CDELT1"):
        read_spectrum(other)


def test_batch_reports_bad_files_and_keeps_going(tmp_path):
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(APSTAR.read_bytes()[:20000])
    text = tmp_path / "notfits.fits"
    text.write_text("this is not FITS\n")
    paths = [APSTAR, tmp_path / "missing.fits", truncated, text, APSTAR]
    flux, err, status = read_spectra(paths)
    assert flux.shape == err.shape == (5, apogee_grid.N_PIXELS)
    assert flux.dtype == np.float32
    assert list(status["status"]) == ["ok", "missing", "unreadable", "unreadable", "ok"]
    assert list(status["path"]) == [str(p) for p in paths]
    for row in status:
        assert (row["reason"] == "") == (row["status"] == "ok")
        if row["status"] != "ok":
            assert row["path"] in row["reason"]
    bad = np.array([1, 2, 3])
    assert np.isnan(flux[bad]).all() and np.isnan(err[bad]).all()
    f0, e0 = read_spectrum(APSTAR)
    np.testing.assert_array_equal(flux[0], f0)
    np.testing.assert_array_equal(err[4], e0)
