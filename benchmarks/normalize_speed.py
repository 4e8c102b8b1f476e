"""Benchmark: vectorized continuum normalization against a per-star, per-chip Chebyshev.fit loop.

Builds realistic synthetic APOGEE spectra (smooth positive continuum per chip, Gaussian absorption
lines placed away from the continuum pixels, Gaussian noise, a few NaN / zero-error / very noisy
pixels, pipeline-style chip gaps), normalizes the same spectra with
:func:`spectroparallax.spectra.normalize.normalize` and with the straightforward loop
:func:`spectroparallax.spectra.normalize.normalize_reference`, and prints the speed-up and the largest
difference between the outputs. Last line: one JSON object.

    python benchmarks/normalize_speed.py [--n-spectra 1000] [--n-loop 100]

The loop is timed on the first ``--n-loop`` spectra and scaled per spectrum; its outputs are
compared with ours on those spectra. The two are timed alternately, ``--repeats`` times each, and
each is scored by its best run. Times are CPU times of this (single-threaded) process, so that
other jobs on a shared machine do not count; the wall-clock ratio is printed too. BLAS is
limited to one thread (set before numpy loads): on a small shared machine a multi-threaded BLAS
spends most of its time waiting on the tiny matrix products of both methods.

``normalize`` writes into a pair of preallocated output arrays, as the pipeline's
:func:`spectroparallax.spectra.normalize.normalize_files` does (one pair for all its shards);
it is timed once more allocating fresh outputs (``speedup_fresh_output``: the first write to new
memory costs the kernel's page faults, several microseconds a spectrum).

For scale, the same run also times a "floor": dividing flux and err by a constant into two
preallocated float32 arrays, which reads and writes every byte that any normalization must,
and an ``.npy`` round trip: loading flux and err from files and saving two arrays (CPU time;
the files sit in the page cache). Both are printed per 1,000 spectra next to the normalization.
loop / floor (``ceiling``) is the largest speed-up this machine allows; ours / floor says how
far from it we are. The kernels are compiled before timing (numba caches them on disk; the
first compile on a new machine takes about a minute and is printed separately).
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from spectroparallax.spectra import apogee_grid  # noqa: E402
from spectroparallax.spectra.normalize import normalize, normalize_reference  # noqa: E402

# Choices of this benchmark (the pipeline takes the normalization options from config.yaml).
OPTIONS = dict(degree=2, max_normalized_error=0.3, bad_pixel_error=1e3, min_continuum_pixels=20, grow=1)


def synthetic_spectra(n, rng):
    """Return (flux, err) float32 (n, 8575) apStar-like spectra in arbitrary flux units."""
    wl = apogee_grid.wavelength()
    chip = apogee_grid.chip_of_pixel()
    cont_pix = apogee_grid.continuum_pixels()
    # Line centres on non-continuum pixels of the chips, at least 3 pixels from any continuum pixel.
    near_cont = np.zeros(apogee_grid.N_PIXELS, bool)
    for s in range(-3, 4):
        near_cont[np.clip(cont_pix + s, 0, apogee_grid.N_PIXELS - 1)] = True
    centres = rng.choice(np.flatnonzero((chip >= 0) & ~near_cont), 300, replace=False)
    depth = rng.uniform(0.05, 0.5, (n, centres.size))
    line_profile = np.exp(-0.5 * ((np.arange(-4, 5)[None, :]) / 1.2) ** 2)  # (1, 9) in pixels
    absorption = np.zeros((n, apogee_grid.N_PIXELS))
    for j, c in enumerate(centres):  # 300 lines, vectorized over stars
        lo, hi = max(c - 4, 0), min(c + 5, apogee_grid.N_PIXELS)
        absorption[:, lo:hi] += depth[:, j:j + 1] * line_profile[:, (lo - c + 4):(hi - c + 4)]
    # Smooth positive continuum: a random quadratic in the chip coordinate, times a star's level.
    continuum = np.ones((n, apogee_grid.N_PIXELS))
    for k, (lo, hi) in enumerate(apogee_grid.CHIPS):
        m = chip == k
        x = (2 * wl[m] - (lo + hi)) / (hi - lo)
        a = rng.normal(0, [0.1, 0.05], (n, 2))
        continuum[:, m] = 1 + a[:, :1] * x + a[:, 1:] * (2 * x**2 - 1)
    continuum *= rng.lognormal(np.log(500), 1.0, (n, 1))
    snr = rng.uniform(30, 300, (n, 1))
    true = continuum * np.exp(-absorption)
    err = continuum / snr * rng.uniform(0.8, 1.2, true.shape)
    flux = true + err * rng.standard_normal(true.shape)
    # DR14 apStar-style gaps, and a few bad pixels per star.
    flux[:, chip < 0], err[:, chip < 0] = 0.0, 1e10
    rows = np.repeat(np.arange(n), 6)
    cols = rng.choice(np.flatnonzero(chip >= 0), rows.size)
    kind = np.tile(np.arange(6), n)
    flux[rows[kind == 0], cols[kind == 0]] = np.nan
    err[rows[kind == 1], cols[kind == 1]] = 0.0
    err[rows[kind == 2], cols[kind == 2]] *= 1e3
    return flux.astype(np.float32), err.astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-spectra", type=int, default=1000)
    parser.add_argument("--n-loop", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    flux, err = synthetic_spectra(args.n_spectra, rng)
    n_loop = min(args.n_loop, args.n_spectra)
    out = (np.empty_like(flux), np.empty_like(err))
    scratch = (np.empty_like(flux), np.empty_like(err))  # the floor's: `out` holds our result
    for a in out + scratch:
        a.fill(0)  # touched once, as a reused buffer is
    files = Path(tempfile.mkdtemp(prefix="normalize_speed_"))
    np.save(files / "flux.npy", flux)
    np.save(files / "err.npy", err)

    def floor():
        return np.divide(flux, np.float32(2), out=scratch[0]), np.divide(err, np.float32(2), out=scratch[1])

    def npy_round_trip():
        f, e = np.load(files / "flux.npy"), np.load(files / "err.npy")
        np.save(files / "out_flux.npy", f)
        np.save(files / "out_err.npy", e)

    runs = {
        "vectorized": (lambda: normalize(flux, err, out=out, **OPTIONS), args.n_spectra),
        "fresh_output": (lambda: normalize(flux, err, **OPTIONS), args.n_spectra),
        "loop": (lambda: normalize_reference(flux[:n_loop], err[:n_loop], **OPTIONS), n_loop),
        "floor": (floor, args.n_spectra),
        "npy": (npy_round_trip, args.n_spectra),
    }
    t0 = time.perf_counter()
    normalize(flux[:10], err[:10], **OPTIONS)  # compile (or load) the kernels, build the chip geometry
    first_call = time.perf_counter() - t0
    cpu = {name: [] for name in runs}
    wall = {name: [] for name in runs}
    results = {}
    for _ in range(args.repeats):
        for name, (fn, n) in runs.items():
            c0, w0 = time.process_time(), time.perf_counter()
            results[name] = fn()
            cpu[name].append((time.process_time() - c0) / n)
            wall[name].append((time.perf_counter() - w0) / n)
    for name in os.listdir(files):
        os.remove(files / name)
    files.rmdir()
    t_fresh, t_npy = min(cpu["fresh_output"]), min(cpu["npy"])
    t_ours, t_loop, t_floor = min(cpu["vectorized"]), min(cpu["loop"]), min(cpu["floor"])
    ours = results["vectorized"]
    ref_flux, ref_err, ref_status = results["loop"]

    diff = np.maximum(np.abs(ours.flux[:n_loop] - ref_flux), np.abs(ours.err[:n_loop] - ref_err))
    scale = np.maximum(np.abs(ref_flux), np.abs(ref_err))
    max_ulp = float((diff / np.spacing(scale.astype(np.float32))).max())  # in float32 units in the last place
    same_mask = bool((ours.mask[:n_loop] == (ref_err == np.float32(OPTIONS["bad_pixel_error"]))).all())
    same_status = bool((ours.chip_status[:n_loop] == ref_status).all())
    n_masked = ours.mask[:, apogee_grid.chip_of_pixel() >= 0].sum(axis=1)
    print(f"masked in-chip pixels per spectrum: median {np.median(n_masked):.0f}; chip fits ok: "
          f"{(ours.chip_status == 'ok').mean():.3f}")
    print(f"vectorized: {t_ours * 1e6:.1f} us/spectrum (CPU) over {args.n_spectra} spectra, "
          f"{t_ours * 1e6:.1f} ms per 1,000 spectra ({t_fresh * 1e6:.1f} ms allocating new outputs)")
    print(f"loop      : {t_loop * 1e6:.1f} us/spectrum (CPU) over {n_loop} spectra, "
          f"{t_loop * 1e6:.0f} ms per 1,000 spectra")
    print(f"floor     : {t_floor * 1e6:.1f} ms per 1,000 spectra (CPU) to read them and write two arrays in "
          f"memory; {t_npy * 1e6:.1f} ms to load them from .npy files and save two; "
          f"loop / floor = {t_loop / t_floor:.0f}, ours / floor = {t_ours / t_floor:.1f}")
    print(f"first call (kernel compile or cache load): {first_call:.1f} s")
    print(f"wall-clock ratio: {min(wall['loop']) / min(wall['vectorized']):.1f}")
    print(f"max |difference| of normalized flux and err: {diff.max():.3g} ({max_ulp:.1f} float32 ulp); "
          f"same mask: {same_mask}; same chip status: {same_status}")
    print(json.dumps({
        "speedup": round(t_loop / t_ours, 1),
        "speedup_fresh_output": round(t_loop / t_fresh, 1),
        "ms_per_1000": round(t_ours * 1e6, 1),
        "read_write_ms_per_1000": round(t_floor * 1e6, 1),
        "npy_read_write_ms_per_1000": round(t_npy * 1e6, 1),
        "max_abs_diff": float(diff.max()),
        "max_ulp": round(max_ulp, 1),
        "same_mask": same_mask,
        "same_status": same_status,
        "us_per_spectrum": round(t_ours * 1e6, 1),
        "ceiling": round(t_loop / t_floor, 1),
        "floor_us_per_spectrum": round(t_floor * 1e6, 1),
        "first_call_s": round(first_call, 2),
        "n_spectra": args.n_spectra,
        "n_loop": n_loop,
    }))


if __name__ == "__main__":
    main()
