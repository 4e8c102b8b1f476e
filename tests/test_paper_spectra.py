"""Paper mode of the spectra and feature switches (issue 17): continuum_fit, masking, pixel_set,
ln_flux_errors and magnitude_errors.

Hand calculations on small arrays for each switch's paper value; an independent per-star
reimplementation of normalize_all_spectra.py's NormalizeData (ee877c7) with numpy's own
Chebyshev.fit, compared with the package's paper path on real and synthetic spectra; and, on a
paper-mode mock run, the pixel set and the design matrix against a reimplementation of
infer_parallax.py (7e102f0) star by star.
"""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from numpy.polynomial.chebyshev import Chebyshev

from conftest import REPO
from spectroparallax.sample import features
from spectroparallax.spectra import apogee_grid
from spectroparallax.spectra.normalize import normalize, not_unit_fraction, select_pixels_paper
from spectroparallax.spectra.read import read_spectrum
from test_normalize import synthetic

N = apogee_grid.N_PIXELS
CHIP = apogee_grid.chip_of_pixel()
CONT = apogee_grid.continuum_pixels()
OPTS = dict(degree=2, max_normalized_error=0.3, bad_pixel_error=1000.0, min_continuum_pixels=20, grow=1)
PAPER = dict(continuum_fit="paper", masking="paper")
# The test apStar file, and the real spectra of the shared data folder where there is one.
REAL = sorted({p.name: p for p in [*Path("/work/shared/data/real_spectra").glob("*.fits"),
                                   REPO / "tests/data/apStar-dr14era-2M16333217+3942519.fits"]}.values())


# ------------------------------------------------------------------------------------------------
# An independent reading of normalize_all_spectra.py @ ee877c7 (NormalizeData), star by star.
# ------------------------------------------------------------------------------------------------

def paper_normalize(flux, err, degree=2):
    """float32 (n, 8575) normalized flux and error as the paper's NormalizeData makes them."""
    wave = np.array([10 ** v for v in np.arange(4.179, 4.179 + 6e-6 * N, 6e-6)[:N]])
    windows = [(wave > 15150) & (wave < 15800), (wave > 15890) & (wave < 16430), (wave > 16490) & (wave < 16950)]
    extra_var = np.full(N, 9.0)
    extra_var[CONT] = 0.0
    out_f = np.ones(flux.shape)
    out_e = np.full(flux.shape, 3.0)
    for j in range(flux.shape[0]):
        f, s = flux[j].astype(float), err[j].astype(float)
        bad = np.isnan(f) | np.isinf(f) | (s <= 0) | np.isnan(s) | np.isinf(s)
        f[bad], s[bad] = 1.0, 3.0
        ivar = 1.0 / (s ** 2 + extra_var)
        for take in windows:
            fit = Chebyshev.fit(x=wave[take], y=f[take], w=ivar[take], deg=degree)
            out_f[j, take] = f[take] / fit(wave[take])
            out_e[j, take] = s[take] / fit(wave[take])
        noisy = out_e[j] > 0.3
        out_f[j, noisy], out_e[j, noisy] = 1.0, 3.0
    for j in range(flux.shape[0]):
        bad = ~np.isfinite(out_f[j]) | (out_e[j] <= 0) | ~np.isfinite(out_e[j]) | (out_e[j] > 1.0)
        grown = bad | np.insert(bad, 0, False)[:-1] | np.insert(bad, N, False)[1:]
        out_f[j, grown], out_e[j, grown] = 1.0, 3.0
    return out_f.astype(np.float32), out_e.astype(np.float32)


def _assert_same(res, ref_flux, ref_err):
    np.testing.assert_array_equal(res.err == 3, ref_err == 3)
    np.testing.assert_allclose(res.flux, ref_flux, rtol=2e-6, atol=0)
    np.testing.assert_allclose(res.err, ref_err, rtol=2e-6, atol=0)


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_paper_path_equals_the_papers_normalization_on_real_spectra(path):
    flux, err = read_spectrum(path)
    res = normalize(flux, err, **OPTS, **PAPER)
    _assert_same(res, *paper_normalize(flux[None], err[None]))
    assert 0 < res.n_masked[0] < N - 7000
    assert (res.chip_status == "ok").all()


def test_paper_path_equals_the_papers_normalization_on_synthetic_spectra():
    flux, err, _, _ = synthetic(6, 20, 3, bad_pixels=True)
    # aspcapStar-like units (continuum ~1) for half the stars, apStar-like (50-5000) for the others
    flux[:3] /= np.nanmedian(flux[:3], axis=1, keepdims=True)
    err[:3] /= np.nanmedian(np.abs(flux[:3]), axis=1, keepdims=True) * 20
    _assert_same(normalize(flux, err, **OPTS, **PAPER), *paper_normalize(flux, err))


# ------------------------------------------------------------------------------------------------
# By hand.
# ------------------------------------------------------------------------------------------------

def _spectrum(level=20.0, error=1.0):
    flux = np.full((1, N), level, dtype=np.float32)
    err = np.full((1, N), error, dtype=np.float32)
    return flux, err


def test_paper_fit_weights_are_inverse_variance_squared():
    """Degree 0: the continuum is the weighted mean of the chip with weights ivar^2, where ivar =
    1 / (sigma^2 + 9) off the continuum pixels and a bad pixel enters as flux 1, error 3."""
    flux, err = _spectrum()
    chip0 = np.flatnonzero(CHIP == 0)
    cont = np.intersect1d(chip0, CONT)
    other = np.setdiff1d(chip0, CONT)
    flux[0, other] = 10.0                # lines: half the continuum
    flux[0, cont[10]] = np.nan           # enters as flux 1, error 3 (ivar 1/9)
    res = normalize(flux, err, **{**OPTS, "degree": 0, "min_continuum_pixels": 1}, **PAPER)
    n_c, n_o = cont.size - 1, other.size
    w_c, w_o, w_bad = 1.0, (1 / (1 + 9)) ** 2, (1 / 9) ** 2
    continuum = (n_c * w_c * 20 + n_o * w_o * 10 + w_bad * 1) / (n_c * w_c + n_o * w_o + w_bad)
    q = other[len(other) // 2]
    assert res.flux[0, q] == pytest.approx(10 / continuum, rel=1e-6)
    assert res.err[0, q] == pytest.approx(1 / continuum, rel=1e-6)
    # the NaN pixel: flux 1 / continuum, error 3 / continuum = 0.15, below 0.3, so it is kept (the paper's way)
    assert res.flux[0, cont[10]] == pytest.approx(1 / continuum, rel=1e-6)
    assert res.err[0, cont[10]] == pytest.approx(3 / continuum, rel=1e-6)


def test_paper_masking_by_hand():
    flux, err = _spectrum(level=1.0, error=0.01)
    chip1 = np.flatnonzero(CHIP == 1)
    noisy, ok_noisy, no_data = chip1[500], chip1[900], chip1[1300]
    err[0, noisy] = 0.31          # > 0.3: flux 1, error 3, and its neighbours masked (3 > 1)
    err[0, ok_noisy] = 0.29       # kept, and so are its neighbours
    flux[0, no_data], err[0, no_data] = 0.0, 1e10   # no data: masked, and it grows the mask
    res = normalize(flux, err, **OPTS, **PAPER)
    expected = CHIP < 0
    for p in (noisy, no_data):
        expected[p - 1:p + 2] = True
    for k in range(3):            # grown in from the pixels outside the chips
        idx = np.flatnonzero(CHIP == k)
        expected[[idx[0], idx[-1]]] = True
    np.testing.assert_array_equal(res.err[0] == 3, expected)
    np.testing.assert_array_equal(res.flux[0][expected], 1.0)
    np.testing.assert_array_equal(res.err[0][expected], np.float32(3.0))
    assert res.err[0, ok_noisy] == pytest.approx(0.29, rel=1e-5)
    np.testing.assert_allclose(res.flux[0][~expected], 1.0, rtol=1e-5)
    assert res.n_masked[0] == expected.sum()
    assert res.bad_pixel_error == np.float32(3.0)
    # each chip's second and second-to-last pixels are data
    for k in range(3):
        idx = np.flatnonzero(CHIP == k)
        assert res.err[0, idx[1]] < 1 and res.err[0, idx[-2]] < 1


def test_switches_combine_and_default_to_improved():
    flux, err, _, _ = synthetic(3, 30, 5, bad_pixels=True)
    improved = normalize(flux, err, **OPTS)
    explicit = normalize(flux, err, **OPTS, continuum_fit="improved", masking="improved")
    np.testing.assert_array_equal(improved.flux, explicit.flux)
    # masking alone: the improved continuum, the paper's chip-edge gaps and error 3
    only_mask = normalize(flux, err, **OPTS, masking="paper")
    for k in range(3):
        idx = np.flatnonzero(CHIP == k)
        assert (only_mask.err[:, [idx[0], idx[-1]]] == 3).all()
        assert not improved.mask[:, [idx[0], idx[-1]]].any()
    kept = ~only_mask.mask & ~improved.mask
    np.testing.assert_allclose(only_mask.flux[kept], improved.flux[kept], rtol=1e-5)
    # continuum_fit alone: the paper's continuum with the improved masking (error 1000)
    only_fit = normalize(flux, err, **OPTS, continuum_fit="paper")
    both = normalize(flux, err, **OPTS, **PAPER)
    kept = ~only_fit.mask & ~both.mask
    assert only_fit.bad_pixel_error == np.float32(1000.0)
    np.testing.assert_allclose(only_fit.flux[kept], both.flux[kept], rtol=1e-6)
    with pytest.raises(ValueError, match="masking"):
        normalize(flux, err, **OPTS, masking="papr")


def test_pixel_set_paper_drops_only_pixels_that_are_1_in_every_parent_star(tmp_path):
    rng = np.random.default_rng(1)
    shards = [rng.uniform(0.5, 0.9, (4, 10)).astype(np.float32) for _ in range(2)]
    parent_rows = [np.array([0, 2]), np.array([1, 3])]
    for k, rows in enumerate(parent_rows):
        shards[k][rows, 3] = 1.0                    # 1 in every parent star: dropped
        shards[k][rows, 5] = 1.0                    # 1 in all but one: kept
        shards[k][rows, 7] = 1.0                    # 1 in every parent star, not in the others: dropped
    shards[1][3, 5] = 0.99
    for k in range(2):
        shards[k][:, 8] = 1.0                       # 1 in every star
    paths = []
    for k, flux in enumerate(shards):
        paths.append(tmp_path / f"flux_{k}.npy")
        np.save(paths[-1], flux)
    fraction, n = not_unit_fraction(paths, parent_rows, chunk_rows=1)
    assert n == 4
    assert fraction[5] == 0.25 and fraction[3] == 0 and fraction[0] == 1
    keep = select_pixels_paper(fraction)
    np.testing.assert_array_equal(np.flatnonzero(~keep), [3, 7, 8])


def test_ln_flux_errors_by_hand():
    flux = np.array([[0.5, 0.5, 0.005, 2.0, 1.0]], dtype=np.float32)
    err = np.array([[0.2, 0.01, 0.01, 0.01, 3.0]], dtype=np.float32)
    ln_f, paper = features.log_flux(flux, err, (0.01, 1.2), 0.1, "paper")
    # clip(sigma, 0, 0.05) / clip(f, 0.01, 1.2)
    np.testing.assert_allclose(paper[0], [0.05 / 0.5, 0.01 / 0.5, 0.01 / 0.01, 0.01 / 1.2, 0.05 / 1.0], rtol=1e-6)
    np.testing.assert_allclose(ln_f[0], np.log([0.5, 0.5, 0.01, 1.2, 1.0]), rtol=1e-6)
    _, improved = features.log_flux(flux, err, (0.01, 1.2), 0.1)
    np.testing.assert_allclose(improved[0], [0.1, 0.02, 0.1, 0.01 / 1.2, 0.1], rtol=1e-6)


def _parent_row():
    row = {"APOGEE_ID": ["2M00000000+0000000"], "phot_g_mean_mag": [12.0], "phot_bp_mean_mag": [12.5],
           "phot_rp_mean_mag": [11.4], "phot_g_mean_flux": [2.0e5], "phot_g_mean_flux_error": [400.0],
           "phot_bp_mean_flux": [1.0e5], "phot_bp_mean_flux_error": [500.0], "phot_rp_mean_flux": [1.5e5],
           "phot_rp_mean_flux_error": [300.0]}
    for band, (value, error) in features.BANDS.items():
        if error:
            row[value], row[error] = [10.0], [0.02]
    return Table(row)


def test_magnitude_errors_by_hand():
    parent = _parent_row()
    _, paper = features.photometry(parent, magnitude_errors="paper")
    np.testing.assert_allclose(paper[0, :3], [1.09 * 400 / 2e5, 1.09 * 500 / 1e5, 1.09 * 300 / 1.5e5], rtol=1e-12)
    _, improved = features.photometry(parent)
    assert improved[0, 0] == pytest.approx(2.5 / np.log(10) * 400 / 2e5, rel=1e-12)
    np.testing.assert_array_equal(paper[0, 3:], 0.02)
    X, X_err = features.design_matrix(parent, np.full((1, 2), 0.5), np.full((1, 2), 0.2), (0.01, 1.2), 0.1,
                                      ln_flux_errors="paper", magnitude_errors="paper")
    assert X_err[0, 1] == pytest.approx(1.09 * 400 / 2e5, rel=1e-6)
    np.testing.assert_allclose(X_err[0, -2:], 0.1, rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# A paper-mode mock run: the pixel set and the design matrix against infer_parallax.py.
# ------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_paper_mode_mock_pixels_and_design_matrix_equal_the_papers_scripts(paper_run):
    work = paper_run
    results = work / "results/mock"
    parent = Table.read(results / "samples/parent.fits")
    keys = {}
    for k in range(len(list((results / "spectra").glob("shard_*")))):
        stars = Table.read(results / f"spectra/shard_{k}/stars.ecsv")
        for row, star in enumerate(stars):
            keys[tuple(str(star[c]).strip() for c in ("APOGEE_ID", "TELESCOPE", "FIELD"))] = (k, row, star["path"])
    where = [keys[tuple(str(s[c]).strip() for c in ("APOGEE_ID", "TELESCOPE", "FIELD"))] for s in parent]
    # Normalize every parent star's file afresh, as the paper's script does.
    raw = [read_spectrum(work / path) for _, _, path in where]
    fluxes, sigmas = paper_normalize(np.array([f for f, _ in raw]), np.array([e for _, e in raw]))
    # ... and the shards hold exactly those spectra, star by star (float32 precision).
    shard_flux = np.array([np.load(results / f"spectra/shard_{k}/flux.npy", mmap_mode="r")[row] for k, row, _ in where])
    np.testing.assert_array_equal(shard_flux == 1, fluxes == 1)
    np.testing.assert_allclose(shard_flux, fluxes, rtol=2e-6)
    # infer_parallax.py: drop the pixels whose flux sums to the number of parent stars
    fluxes64, sigmas64 = fluxes.astype(float).T, sigmas.astype(float).T
    gaps = np.sum(fluxes64.T, axis=0) == float(fluxes64.T.shape[0])
    pixels = Table.read(results / "spectra/pixels.ecsv")
    np.testing.assert_array_equal(pixels["pixel"], np.flatnonzero(~gaps))
    fluxes64, sigmas64 = fluxes64[~gaps, :], sigmas64[~gaps, :]
    ln_fluxes = np.log(np.clip(fluxes64, 0.01, 1.2))
    ln_flux_err = np.clip(sigmas64, 0, 0.05) / np.clip(fluxes64, 0.01, 1.2)
    mag_err = [1.09 * parent[f"phot_{b}_mean_flux_error"] / parent[f"phot_{b}_mean_flux"] for b in ("g", "bp", "rp")]
    A = np.vstack([np.ones(len(parent)), parent["phot_g_mean_mag"], parent["phot_bp_mean_mag"],
                   parent["phot_rp_mean_mag"], parent["J"], parent["H"], parent["K"], parent["w1mpro"],
                   parent["w2mpro"], ln_fluxes]).T
    A_err = np.vstack([np.zeros(len(parent)), *mag_err, parent["J_ERR"], parent["H_ERR"], parent["K_ERR"],
                       parent["w1mpro_error"], parent["w2mpro_error"], ln_flux_err]).T
    X, X_err = np.load(results / "features/X.npy"), np.load(results / "features/X_err.npy")
    assert X.shape == A.shape
    np.testing.assert_allclose(X, A, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(X_err, A_err, rtol=2e-6, atol=0)
