"""Continuum normalization: truth recovery, masking rules, the per-star reference, real data, shards."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from spectroparallax.spectra import apogee_grid
from spectroparallax.spectra.normalize import (
    _BLOCK,
    FIT_NONPOSITIVE,
    FIT_NOT_READ,
    FIT_OK,
    FIT_TOO_FEW,
    NO_DATA_ERROR,
    normalize,
    normalize_files,
    normalize_reference,
    pixel_coverage,
    select_pixels,
    shard_coverage,
)
from spectroparallax.spectra.read import read_spectrum

APSTAR = Path(__file__).parent / "data" / "apStar-dr14era-2M16333217+3942519.fits"
BAD_ERR = 1e3
OPTS = dict(degree=2, max_normalized_error=0.3, bad_pixel_error=BAD_ERR, min_continuum_pixels=20, grow=1)

CHIP = apogee_grid.chip_of_pixel()
IN_CHIP = CHIP >= 0
CONT = apogee_grid.continuum_pixels()
CONT_IN_CHIP = CONT[CHIP[CONT] >= 0]


def _chip_x(k):
    lo, hi = apogee_grid.CHIPS[k]
    return (2 * apogee_grid.wavelength()[CHIP == k] - (lo + hi)) / (hi - lo)


def synthetic(n, snr, seed, bad_pixels=False):
    """Spectra with a known quadratic continuum per chip and lines away from continuum pixels.

    Returns flux, err (float32), the true continuum and the true normalized spectrum.
    """
    rng = np.random.default_rng(seed)
    far = np.ones(apogee_grid.N_PIXELS, bool)
    for s in range(-3, 4):
        far[np.clip(CONT + s, 0, apogee_grid.N_PIXELS - 1)] = False
    centres = rng.choice(np.flatnonzero(IN_CHIP & far), 200, replace=False)
    pix = np.arange(apogee_grid.N_PIXELS)
    absorption = np.zeros((n, apogee_grid.N_PIXELS))
    for c in centres:
        window = np.abs(pix - c) <= 3
        absorption[:, window] += rng.uniform(0.05, 0.6, (n, 1)) * np.exp(-0.5 * ((pix[window] - c) / 1.0) ** 2)
    continuum = np.ones((n, apogee_grid.N_PIXELS))
    for k in range(3):
        x = _chip_x(k)
        a = rng.normal(0, 0.08, (n, 3))
        continuum[:, CHIP == k] = 1 + a[:, :1] * x + a[:, 1:2] * (2 * x**2 - 1) + 0.3 * a[:, 2:]
    continuum *= rng.uniform(50, 5000, (n, 1))
    truth = np.exp(-absorption)
    err = continuum / snr
    flux = continuum * truth + err * rng.standard_normal(continuum.shape)
    flux[:, ~IN_CHIP], err[:, ~IN_CHIP] = 0.0, 1e10
    if bad_pixels:
        cols = rng.choice(np.flatnonzero(IN_CHIP), (n, 4))
        rows = np.arange(n)
        flux[rows, cols[:, 0]] = np.nan
        err[rows, cols[:, 1]] = 0.0
        err[rows, cols[:, 2]] = -1.0
        err[rows, cols[:, 3]] *= 1e3
    return flux.astype(np.float32), err.astype(np.float32), continuum, truth


def test_recovers_true_normalized_spectrum_within_the_noise():
    flux, err, continuum, truth = synthetic(20, snr=100, seed=1)
    res = normalize(flux, err, **OPTS)
    assert (res.chip_status == FIT_OK).all()
    assert res.flux.dtype == res.err.dtype == np.float32
    good = ~res.mask
    assert good[:, IN_CHIP].mean() > 0.999  # noise alone at S/N 100 masks nothing
    assert not good[:, ~IN_CHIP].any()
    np.testing.assert_allclose(res.err[good], 1 / 100, rtol=0.01)  # err / continuum = 1 / snr
    chi = ((res.flux - truth) / res.err)[good]
    assert abs(chi.mean()) < 0.05
    assert 0.95 < chi.std() < 1.05
    # Recovered continuum (flux / normalized flux) matches the truth to ~6 sigma of the fit.
    recovered = flux / res.flux
    np.testing.assert_allclose(recovered[good], continuum[good], rtol=5e-3)
    # Continuum pixels are ~1 on average.
    assert abs(np.mean(res.flux[:, CONT_IN_CHIP]) - 1) < 1e-3


def test_result_does_not_depend_on_flux_units():
    flux, err, _, _ = synthetic(3, snr=50, seed=2, bad_pixels=True)
    a = normalize(flux, err, **OPTS)
    b = normalize(flux * 1e-3, err * 1e-3, **OPTS)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_allclose(a.flux, b.flux, rtol=1e-5)
    np.testing.assert_allclose(a.err, b.err, rtol=1e-5)


def _flat():
    """One noise-free star: flux 100, error 1 everywhere (normalized error 0.01)."""
    flux = np.full((1, apogee_grid.N_PIXELS), 100.0, dtype=np.float32)
    err = np.ones((1, apogee_grid.N_PIXELS), dtype=np.float32)
    return flux, err


def _interior_non_continuum(k, count, rng):
    """Pixels of chip k, at least 3 pixels from each other, the chip edges and any continuum pixel."""
    idx = np.flatnonzero(CHIP == k)[5:-5]
    far = np.ones(apogee_grid.N_PIXELS, bool)
    for s in range(-2, 3):
        far[np.clip(CONT + s, 0, apogee_grid.N_PIXELS - 1)] = False
    chosen = []
    for p in rng.permutation(idx[far[idx]]):
        if all(abs(p - q) > 6 for q in chosen):
            chosen.append(p)
        if len(chosen) == count:
            return np.array(chosen)


def test_masking_rules_by_hand():
    flux, err = _flat()
    pixels = _interior_non_continuum(0, 8, np.random.default_rng(0))
    nan_flux, zero_err, neg_err, inf_err, noisy, ok_noisy, no_data, nan_err = pixels
    flux[0, nan_flux] = np.nan
    flux[0, zero_err], err[0, zero_err] = 0.0, 0.0  # an aspcapStar gap (sas_layout.md sec. 5): no measurement
    err[0, neg_err] = -1.0
    err[0, inf_err] = np.inf
    err[0, noisy] = 31.0  # normalized error 0.31 > 0.3
    err[0, ok_noisy] = 29.0  # normalized error 0.29: kept, and so are its neighbours
    flux[0, no_data], err[0, no_data] = 0.0, NO_DATA_ERROR  # the pipeline's "no measurement"
    err[0, nan_err] = np.nan
    res = normalize(flux, err, **OPTS)
    expected = ~IN_CHIP.copy()
    for p in (nan_flux, neg_err, noisy, nan_err):
        expected[p - 1:p + 2] = True
    # No measurement (error 0, as in aspcapStar gaps, or >= 1e10, infinite included): masked, but the
    # neighbours keep their data.
    expected[[no_data, inf_err, zero_err]] = True
    np.testing.assert_array_equal(res.mask[0], expected)
    np.testing.assert_array_equal(res.flux[0][expected], 1.0)
    np.testing.assert_array_equal(res.err[0][expected], np.float32(BAD_ERR))
    np.testing.assert_allclose(res.flux[0][~expected], 1.0, rtol=1e-6)
    assert res.err[0, ok_noisy] == pytest.approx(0.29, rel=1e-6)
    np.testing.assert_allclose(res.err[0][~expected & (err[0] == 1)], 0.01, rtol=1e-6)
    # Chip edges stay unmasked: the mask does not grow in from the gaps.
    for k in range(3):
        idx = np.flatnonzero(CHIP == k)
        assert not res.mask[0, idx[0]] and not res.mask[0, idx[-1]]


def test_masked_and_grown_continuum_pixels_do_not_enter_the_fit():
    flux, err = _flat()
    chip0 = CONT_IN_CHIP[CHIP[CONT_IN_CHIP] == 0]
    # Pairs of adjacent continuum pixels: the first fails the error cut, the second is a wild value
    # with a small error that only the one-pixel growth removes. Counted in a fit, either would
    # move the continuum by far more than the tolerance below.
    pairs = chip0[:-1][np.diff(chip0) == 1][5:8]
    for p in pairs:
        flux[0, p], err[0, p] = 1e5, 40.0  # normalized error 0.4
        flux[0, p + 1], err[0, p + 1] = 1e5, 1.0
    res = normalize(flux, err, **OPTS)
    assert (res.chip_status == FIT_OK).all()
    assert res.mask[0, pairs].all() and res.mask[0, pairs + 1].all()
    unmasked = ~res.mask[0]
    np.testing.assert_allclose(res.flux[0][unmasked], 1.0, rtol=1e-6)


@pytest.mark.parametrize("grow", [1, 2])
def test_a_bad_pixel_takes_out_of_the_fit_exactly_the_continuum_pixels_within_grow_in_its_chip(grow):
    # Counted by hand from the continuum list: a bad pixel (NaN error, which holds data) removes
    # the continuum pixels within `grow` of it in its own chip, and none in another. The pixels:
    # both ends of every chip (continuum pixels sit on chip 0's first and last pixel and chip 1's
    # last), the first pixels of chip 1 (beside its first continuum pixel, next to chip 0's last
    # one in the detector order), and a run of chip 0 whose places among the pixels the fit looks
    # at equal chip 1's and chip 2's widths there (a kernel that reads past a narrower chip's end
    # would find these seeds).
    opts = dict(OPTS, grow=grow)
    flux, err, _, _ = synthetic(1, snr=200, seed=12)
    clean = normalize(flux, err, **opts)
    assert (clean.chip_status == FIT_OK).all()
    cont = set(CONT_IN_CHIP.tolist())
    edges = [int(q) for k in range(3) for q in np.flatnonzero(CHIP == k)[[0, 1, 2, -3, -2, -1]]]
    near = [int(c) + d for c in CONT_IN_CHIP for d in range(-grow, grow + 1)
            if 0 <= c + d < apogee_grid.N_PIXELS and CHIP[c + d] == CHIP[c]]
    chip0_near = np.unique([p for p in near if CHIP[p] == 0])
    width = [np.unique([p for p in near if CHIP[p] == k]).size for k in range(3)]
    stale = [int(chip0_near[w + d]) for w in width[1:] for d in range(-grow, grow + 1)]
    for p in sorted(set(edges + stale + [int(CONT_IN_CHIP[CHIP[CONT_IN_CHIP] == 1][0]) - 1])):
        e = err.copy()
        e[0, p] = np.nan
        got = normalize(flux, e, **opts).n_fit_pixels[0]
        lost = [sum(1 for q in range(p - grow, p + grow + 1) if q in cont and CHIP[q] == k == CHIP[p])
                for k in range(3)]
        np.testing.assert_array_equal(got, clean.n_fit_pixels[0] - lost, err_msg=f"bad pixel {p}")


def test_impossible_fits_are_reported_and_masked():
    flux, err, _, _ = synthetic(4, snr=50, seed=4)
    flux[0] = np.nan  # nothing usable anywhere
    err[1, CHIP == 1] = 0.0  # chip 1 has no valid errors
    keep = CONT_IN_CHIP[CHIP[CONT_IN_CHIP] == 2][:10]  # chip 2: only 10 usable continuum pixels
    nan_cont = np.setdiff1d(CONT_IN_CHIP[CHIP[CONT_IN_CHIP] == 2], keep)
    flux[2, nan_cont] = np.nan
    # Star 3: a continuum that turns negative inside chip 0 (flux changes sign across the chip).
    x0 = _chip_x(0)
    flux[3, CHIP == 0] = (1000 * x0 + 800).astype(np.float32)
    err[3, CHIP == 0] = np.abs(flux[3, CHIP == 0]) * 0.01 + 1
    res = normalize(flux, err, **OPTS)
    assert list(res.chip_status[0]) == [FIT_TOO_FEW] * 3
    assert list(res.chip_status[1]) == [FIT_OK, FIT_TOO_FEW, FIT_OK]
    assert list(res.chip_status[2]) == [FIT_OK, FIT_OK, FIT_TOO_FEW]
    assert res.chip_status[3, 0] == FIT_NONPOSITIVE
    assert res.n_fit_pixels[2, 2] <= 10
    for star, chip in ((0, 0), (0, 1), (0, 2), (1, 1), (2, 2), (3, 0)):
        sel = CHIP == chip
        assert res.mask[star, sel].all()
        assert (res.flux[star, sel] == 1).all() and (res.err[star, sel] == np.float32(BAD_ERR)).all()
    assert not res.mask[1, CHIP == 0].any()


def _assert_matches_reference(flux, err, opts):
    res = normalize(flux, err, **opts)
    ref_flux, ref_err, ref_status = normalize_reference(flux, err, **opts)
    np.testing.assert_array_equal(res.chip_status, ref_status)
    np.testing.assert_array_equal(res.mask, ref_err == np.float32(opts["bad_pixel_error"]))
    # Same masks; values to float32 rounding: the reference rounds a float64 continuum to float32,
    # normalize evaluates it in float32 (a few units in the last place, 6e-8 each).
    np.testing.assert_allclose(res.flux, ref_flux, rtol=5e-7, atol=0)
    np.testing.assert_allclose(res.err, ref_err, rtol=5e-7, atol=0)


@pytest.mark.parametrize("snr", [30, 4])
def test_matches_per_star_chebyshev_fit_reference(snr):
    # At S/N 4 many errors sit near the 0.3 cut, so the cuts need the median level and the
    # first-pass continuum themselves (not only their bounds) and the second pass refits.
    flux, err, _, _ = synthetic(6, snr=snr, seed=5, bad_pixels=True)
    flux[3, CHIP == 1] = np.nan  # one failed chip too
    dead = np.flatnonzero(IN_CHIP)[:8]  # dead first pixels of chip 0 in one star
    flux[4, dead], err[4, dead] = 0.0, NO_DATA_ERROR
    _assert_matches_reference(flux, err, OPTS)


def test_bad_values_on_and_beside_continuum_pixels_match_reference():
    # The fit's pixel selection sees these: NaN, infinite, zero and negative errors, NaN and
    # negative flux, no-data pixels, on continuum pixels and on their neighbours.
    flux, err, _, _ = synthetic(4, snr=30, seed=8)
    rng = np.random.default_rng(8)
    for i in range(4):
        at = rng.choice(CONT_IN_CHIP, 14, replace=False)
        beside = at[7:] + rng.choice([-1, 1], 7)
        for pixels in (at[:7], beside):
            err[i, pixels[0]] = np.nan
            err[i, pixels[1]] = np.inf
            err[i, pixels[2]] = 0.0
            err[i, pixels[3]] = -1.0
            flux[i, pixels[4]] = np.nan
            flux[i, pixels[5]] = -flux[i, pixels[5]]
            flux[i, pixels[6]], err[i, pixels[6]] = 0.0, NO_DATA_ERROR
    _assert_matches_reference(flux, err, OPTS)


def test_other_degree_and_growth_match_reference():
    flux, err, _, _ = synthetic(2, snr=30, seed=6, bad_pixels=True)
    _assert_matches_reference(flux, err, dict(OPTS, degree=4, grow=2))


def test_a_stars_result_does_not_depend_on_the_other_stars():
    flux, err, _, _ = synthetic(_BLOCK + 5, snr=20, seed=9, bad_pixels=True)
    together = normalize(flux, err, **OPTS)
    for i in (0, _BLOCK - 1, _BLOCK + 4):
        alone = normalize(flux[i], err[i], **OPTS)
        np.testing.assert_array_equal(alone.flux[0], together.flux[i])
        np.testing.assert_array_equal(alone.err[0], together.err[i])
        np.testing.assert_array_equal(alone.chip_status[0], together.chip_status[i])


@pytest.mark.parametrize("continuum_fit", ["improved", "paper"])
def test_pixels_outside_the_chips_are_masked_and_counted_whatever_the_output_held(continuum_fit):
    # The division kernel writes the pixels between and beyond the chips itself: output buffers
    # are reused from shard to shard, so nothing may be left from what they held.
    flux, err, _, _ = synthetic(3, snr=30, seed=12, bad_pixels=True)
    opts = dict(OPTS, continuum_fit=continuum_fit)
    fresh = normalize(flux, err, **opts)
    out = (np.full(flux.shape, 7.0, np.float32), np.full(flux.shape, np.nan, np.float32))
    res = normalize(flux, err, out=out, **opts)
    assert res.flux is out[0] and res.err is out[1]
    assert (out[0][:, ~IN_CHIP] == 1).all() and (out[1][:, ~IN_CHIP] == np.float32(BAD_ERR)).all()
    np.testing.assert_array_equal(out[0], fresh.flux)
    np.testing.assert_array_equal(out[1], fresh.err)
    np.testing.assert_array_equal(res.n_masked, res.mask.sum(axis=1))
    assert (res.n_masked >= (~IN_CHIP).sum()).all()


def test_a_block_inherits_nothing_from_the_block_before_it():
    # The fit's working arrays are reused from block to block; a chip with no usable continuum
    # pixel in the second block must fail as it does alone, not use the first block's numbers.
    flux, err, _, _ = synthetic(_BLOCK + 2, snr=30, seed=13)
    err[_BLOCK, CHIP == 1] = 0.0  # star _BLOCK (the second block's first): chip 1 holds no data
    together = normalize(flux, err, **OPTS)
    alone = normalize(flux[_BLOCK:], err[_BLOCK:], **OPTS)
    assert list(together.chip_status[_BLOCK]) == [FIT_OK, FIT_TOO_FEW, FIT_OK]
    np.testing.assert_array_equal(together.chip_status[_BLOCK:], alone.chip_status)
    np.testing.assert_array_equal(together.n_fit_pixels[_BLOCK:], alone.n_fit_pixels)
    np.testing.assert_array_equal(together.flux[_BLOCK:], alone.flux)
    np.testing.assert_array_equal(together.err[_BLOCK:], alone.err)


def test_real_apstar_normalizes_to_a_sensible_spectrum():
    flux, err = read_spectrum(APSTAR)
    res = normalize(flux, err, **OPTS)
    assert (res.chip_status == FIT_OK).all()
    good = ~res.mask[0]
    assert good[IN_CHIP].mean() > 0.95
    cont_good = good[CONT_IN_CHIP]
    assert abs(np.median(res.flux[0, CONT_IN_CHIP][cont_good]) - 1) < 0.01
    lo, hi = np.percentile(res.flux[0][good], [0.5, 99.5])
    assert 0.3 < lo < 1 < hi < 1.2
    assert np.median(res.err[0][good]) < 0.01  # a high-S/N star


def test_option_errors():
    flux, err = _flat()
    with pytest.raises(ValueError, match="min_continuum_pixels"):
        normalize(flux, err, **dict(OPTS, min_continuum_pixels=2))
    with pytest.raises(ValueError, match="bad_pixel_error"):
        normalize(flux, err, **dict(OPTS, bad_pixel_error=0.2))
    with pytest.raises(ValueError, match="8575"):
        normalize(flux[:, :100], err[:, :100], **OPTS)


def _write_spectrum(path, flux, err):
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(flux), fits.ImageHDU(err)]).writeto(path)
    return path


def test_shard_driver_writes_memmappable_arrays_independent_of_shard_size(tmp_path):
    flux, err, _, _ = synthetic(5, snr=60, seed=7, bad_pixels=True)
    flux[3, CHIP == 1] = np.nan  # read fine, but chip 1 cannot be fitted
    paths = [_write_spectrum(tmp_path / f"s{i}.fits", flux[i], err[i]) for i in range(5)]
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(paths[0].read_bytes()[:5000])
    paths = paths[:2] + [tmp_path / "missing.fits"] + paths[2:4] + [truncated] + paths[4:]
    outputs = {}
    for shard in (2, 3, 100):
        out = tmp_path / f"shard{shard}"
        table = normalize_files(paths, out / "flux.npy", out / "err.npy", shard_size=shard, **OPTS)
        f = np.load(out / "flux.npy", mmap_mode="r")
        e = np.load(out / "err.npy", mmap_mode="r")
        assert isinstance(f, np.memmap) and f.dtype == np.float32 and f.shape == (7, apogee_grid.N_PIXELS)
        assert sorted(p.name for p in out.iterdir()) == ["err.npy", "flux.npy"]  # no temp files left
        outputs[shard] = (np.array(f), np.array(e), table)
    f2, e2, t2 = outputs[2]
    for shard in (3, 100):
        np.testing.assert_array_equal(outputs[shard][0], f2)
        np.testing.assert_array_equal(outputs[shard][1], e2)
    assert list(t2["read_status"]) == ["ok", "ok", "missing", "ok", "ok", "unreadable", "ok"]
    assert list(t2["status"]) == ["ok", "ok", "missing", "ok", "fit_failed", "unreadable", "ok"]
    assert t2["fit_status_chip1"][4] == FIT_TOO_FEW
    unread = np.array([2, 5])
    assert np.isnan(f2[unread]).all() and np.isnan(e2[unread]).all()
    assert all(t2[f"fit_status_chip{k}"][i] == FIT_NOT_READ for k in range(3) for i in unread)
    assert list(t2["n_masked"][unread]) == [-1, -1]
    # The rows of the files that were read equal normalizing the arrays directly.
    direct = normalize(flux, err, **OPTS)
    read = np.array([0, 1, 3, 4, 6])
    np.testing.assert_array_equal(f2[read], direct.flux)
    np.testing.assert_array_equal(e2[read], direct.err)
    np.testing.assert_array_equal(np.asarray(t2["n_masked"][read]), direct.mask.sum(axis=1))


def test_select_pixels_by_coverage_fraction():
    mask = np.zeros((10, 6), dtype=bool)
    mask[:3, 1] = True  # covered by 70 %
    mask[:5, 2] = True  # 50 %
    mask[:, 3] = True  # never
    mask[:9, 4] = True  # 10 %
    np.testing.assert_allclose(pixel_coverage(mask), [1, 0.7, 0.5, 0, 0.1, 1])
    np.testing.assert_array_equal(select_pixels(mask, 0.5), [True, True, True, False, False, True])
    np.testing.assert_array_equal(select_pixels(mask, 0.6), [True, True, False, False, False, True])
    # The same from normalized errors (masked = BAD_ERR; NaN = star not read), and with a row selection.
    err = np.where(mask, BAD_ERR, 0.01).astype(np.float32)
    np.testing.assert_array_equal(select_pixels(err, 0.5, max_error=0.3), select_pixels(mask, 0.5))
    err_nan = np.vstack([err, np.full((10, 6), np.nan, np.float32)])
    np.testing.assert_allclose(pixel_coverage(err_nan, max_error=0.3), pixel_coverage(mask) / 2)
    rows = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    np.testing.assert_array_equal(select_pixels(err_nan, 0.5, max_error=0.3, rows=rows), select_pixels(mask, 0.5))
    with pytest.raises(ValueError, match="max_error"):
        select_pixels(err, 0.5)


def test_select_pixels_on_normalized_spectra_drops_gaps_and_rarely_covered_pixels():
    flux, err, _, _ = synthetic(10, snr=50, seed=8)
    flux[:8, 300:400] = np.nan  # covered by only 2 of 10 stars
    res = normalize(flux, err, **OPTS)
    keep = select_pixels(res.mask, 0.5)
    expected = IN_CHIP.copy()
    expected[299:401] = False  # the gap grows by one pixel in the 8 stars
    np.testing.assert_array_equal(keep, expected)
    assert keep.sum() == IN_CHIP.sum() - 102


def test_dead_chip_edges_cost_only_their_own_pixels():
    # aspcapStar files carry flux 0 and error 1e10 where there is no data (chip gaps and the
    # first and last pixels of a chip); the real pixel beside them keeps its data.
    flux, err, _, _ = synthetic(10, snr=50, seed=10)
    dead = np.concatenate([np.flatnonzero(CHIP == k)[[0, 1, 2, -2, -1]] for k in range(3)])
    flux[:, dead], err[:, dead] = 0.0, NO_DATA_ERROR
    res = normalize(flux, err, **OPTS)
    expected = IN_CHIP.copy()
    expected[dead] = False
    np.testing.assert_array_equal(select_pixels(res.mask, 0.5), expected)
    np.testing.assert_array_equal(res.n_masked, res.mask.sum(axis=1))


def test_coverage_over_shards_counts_the_read_stars_of_every_shard(tmp_path):
    rng = np.random.default_rng(11)
    errs, tables = [], []
    for k, n in enumerate((5, 3)):
        err = np.where(rng.random((n, apogee_grid.N_PIXELS)) < 0.3, BAD_ERR, 0.01).astype(np.float32)
        np.save(tmp_path / f"err_{k}.npy", err)
        status = np.array(["ok"] * n, dtype="U10")
        status[1] = "missing"
        errs.append(err)
        tables.append(Table({"spectrum_status": status}))
    coverage, n_read = shard_coverage([tmp_path / "err_0.npy", tmp_path / "err_1.npy"], tables,
                                      max_error=0.3, chunk_rows=2)
    read = np.vstack([e[np.asarray(t["spectrum_status"]) == "ok"] for e, t in zip(errs, tables)])
    assert n_read == 6
    np.testing.assert_allclose(coverage, pixel_coverage(read, max_error=0.3))


def test_a_shard_with_no_spectra_writes_empty_arrays_and_an_empty_table(tmp_path):
    """A shard job whose manifest lists no file (more shards than stars, or a shard of stars the
    archive did not have) still writes its outputs; select_samples counts no star from it."""
    table = normalize_files([], tmp_path / "flux.npy", tmp_path / "err.npy", shard_size=4, **OPTS)
    assert len(table) == 0 and "status" in table.colnames
    for name in ("flux.npy", "err.npy"):
        assert np.load(tmp_path / name).shape == (0, apogee_grid.N_PIXELS)


def test_the_compiled_small_solves_agree_with_numpy_and_fail_only_where_they_must():
    from spectroparallax.spectra.normalize_kernels import solve_normal

    rng = np.random.default_rng(3)
    p = 3
    upper = np.triu_indices(p)
    place = np.empty((p, p), dtype=np.int64)
    place[upper] = np.arange(upper[0].size)
    place[upper[1], upper[0]] = place[upper]
    basis = rng.normal(size=(4, 2, 50, p))
    normal = np.einsum("ikna,iknb->ikab", basis, basis)
    # a symmetric matrix that needs a row swap (zero first pivot), and an exactly singular one
    normal[1, 0] = [[0.0, 2.0, 1.0], [2.0, 1.0, 0.5], [1.0, 0.5, 3.0]]
    normal[2, 1] = 0.0
    triangle = normal[..., upper[0], upper[1]]
    rhs = rng.normal(size=(4, 2, p))
    ok = np.ones((4, 2), dtype=bool)
    ok[3, 0] = False   # too few pixels: not solved
    coef = np.full((4, 2, p), np.nan)
    solve_normal(triangle, rhs, place.ravel(), ok, coef)
    expected_ok = np.ones((4, 2), dtype=bool)
    expected_ok[3, 0] = expected_ok[2, 1] = False
    np.testing.assert_array_equal(ok, expected_ok)
    np.testing.assert_array_equal(coef[~expected_ok], 0.0)
    np.testing.assert_allclose(coef[expected_ok], np.linalg.solve(normal[expected_ok], rhs[expected_ok][..., None])[..., 0],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("degree", [2, 3])
def test_the_kernels_normal_equations_are_the_weighted_sums_of_basis_products(degree):
    """fit_weights sums each star's and chip's normal equations itself (_normal_sums: one pass over
    T_1, T_2 for degree 2, since T_0 = 1; the products of the basis otherwise): they must be
    sum w T_a T_b (upper triangle, np.triu_indices order) and sum w f T_a, zero weights included."""
    from spectroparallax.spectra.normalize import _relevant
    from spectroparallax.spectra.normalize_kernels import _normal_sums

    near = _relevant(degree, 1)
    p = degree + 1
    upper = np.triu_indices(p)
    rng = np.random.default_rng(9)
    for k, cols in enumerate(near.chip_cols):
        n = cols.stop - cols.start
        w = rng.uniform(0.5, 2.0, n) * (rng.random(n) < 0.7)      # unused pixels weigh 0
        wf = w * rng.uniform(100.0, 900.0, n)
        T = near.design_cont[k]                                     # (n, p): the basis at these pixels
        triangle, rhs = np.empty(upper[0].size), np.empty(p)
        _normal_sums(w, wf, near.outer_t, near.cont_t, cols.start, triangle, rhs)
        np.testing.assert_allclose(triangle, (T[:, upper[0]] * T[:, upper[1]] * w[:, None]).sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(rhs, (T * wf[:, None]).sum(axis=0), rtol=1e-12)
