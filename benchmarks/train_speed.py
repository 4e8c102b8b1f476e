"""Training speed: spectroparallax.model.fit against the paper's L-BFGS-B-with-sign() optimizer.

Builds a synthetic training set of the paper's size by default (14,000 stars x 7,414 features:
intercept, 8 magnitudes and 7,405 ln f pixels whose absorption lines respond to a few latent
stellar labels), draws parallaxes y = exp(X theta_true) + noise with Gaia-DR2-like errors, fits it
with both optimizers in this process and compares wall-clock times and objectives (eq. 3).

    python benchmarks/train_speed.py                       # full size (baseline takes ~10-20 min)
    python benchmarks/train_speed.py --n-stars 3000 --n-features 2000

The last line printed is one JSON object with the figures.
"""

import argparse
import json
import time

import numpy as np

from spectroparallax.model import fit, objective
from spectroparallax.model.paper_optimizer import fit_baseline

N_BANDS = 8  # G, BP, RP, J, H, K, W1, W2 (HER19 eq. 11)


def synthetic_training_set(n_stars, n_features, seed, n_labels=4, true_fraction=0.03):
    """Design matrix (float32), parallaxes [mas], ivar [mas^-2], penalized mask and theta_true."""
    rng = np.random.default_rng(seed)
    n_pix = n_features - 1 - N_BANDS
    if n_pix < 10:
        raise SystemExit(f"--n-features must be at least {N_BANDS + 11}")
    labels = rng.standard_normal((n_stars, n_labels))
    # Absorption lines at random pixels; each line's depth responds linearly to the labels.
    n_lines = max(n_pix // 15, 5)
    centre = rng.uniform(0, n_pix, n_lines)
    width = rng.uniform(1.0, 3.0, n_lines)
    pix = np.arange(n_pix)
    profile = np.exp(-0.5 * ((pix[None, :] - centre[:, None]) / width[:, None]) ** 2)
    depth0 = rng.uniform(0.02, 0.3, n_lines)
    response = rng.normal(0.0, 0.3, (n_lines, n_labels)) * depth0[:, None]
    depth = np.clip(depth0 + labels @ response.T, 0.0, 0.9)
    flux = 1.0 - depth @ profile + rng.normal(0.0, 0.01, (n_stars, n_pix))  # S/N ~ 100 spectra
    ln_f = np.log(np.clip(flux, 0.01, 1.2))
    # Photometry: K from absolute magnitude (labels), distance modulus and extinction; colours
    # from labels and a reddening law.
    abs_k = -4.0 + 0.8 * labels[:, 0] + 0.3 * labels[:, 1]
    dist_kpc = np.exp(rng.normal(np.log(2.5), 0.7, n_stars))
    a_k = np.abs(rng.normal(0.0, 0.1, n_stars))
    k_mag = abs_k + 5 * np.log10(dist_kpc * 100.0) + a_k
    colour = np.array([2.5, 3.0, 2.0, 0.9, 0.15, 0.0, -0.1, -0.05])
    redden = np.array([8.0, 10.0, 6.0, 2.5, 1.6, 1.0, 0.6, 0.4])
    mags = (k_mag[:, None] + colour + 0.2 * labels[:, [2]] * np.linspace(1, 0, N_BANDS)
            + (redden - 1.0) * a_k[:, None] + rng.normal(0.0, 0.02, (n_stars, N_BANDS)))
    X = np.hstack([np.ones((n_stars, 1)), mags, ln_f]).astype(np.float32)
    penalized = np.zeros(n_features, bool)
    penalized[1 + N_BANDS:] = True
    # Sparse truth: ln parallax = c - 0.2 ln(10) K + small colour terms + a few spectral pixels.
    theta = np.zeros(n_features)
    theta[1 + 5] = -0.2 * np.log(10.0)
    theta[1 + 3], theta[1 + 4] = 0.1, -0.1
    idx = 1 + N_BANDS + rng.choice(n_pix, max(int(true_fraction * n_pix), 3), replace=False)
    theta[idx] = rng.standard_normal(idx.size)
    theta[idx] *= 0.4 / np.std(X[:, idx] @ theta[idx])  # spectral part: ~0.4 in ln parallax
    eta = X.astype(np.float64) @ theta
    theta[0] = np.log(0.25) - np.median(eta)  # median parallax 0.25 mas
    parallax = np.exp(X.astype(np.float64) @ theta)
    # DR2-like errors growing with G; training stars have parallax_error < 0.1 mas.
    sigma = np.clip(0.03 + 0.03 * np.exp((mags[:, 0] - 12.0) / 1.5), 0.01, 0.1)
    y = parallax + sigma * rng.standard_normal(n_stars)
    return X, y, 1.0 / sigma**2, penalized, theta


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-stars", type=int, default=14000)
    ap.add_argument("--n-features", type=int, default=7414)
    ap.add_argument("--lam", type=float, default=30.0, help="L1 strength (HER19 chose 30)")
    ap.add_argument("--burn-in-snr", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-baseline", action="store_true", help="time only our fit")
    a = ap.parse_args()

    t = time.perf_counter()
    X, y, ivar, pen, theta_true = synthetic_training_set(a.n_stars, a.n_features, a.seed)
    snr = y * np.sqrt(ivar)
    print(f"problem: {a.n_stars} stars x {a.n_features} features, {np.sum(snr > a.burn_in_snr)} burn-in stars, "
          f"{np.sum(y < 0)} negative parallaxes ({time.perf_counter() - t:.1f} s to build)", flush=True)
    f_true = objective(theta_true, X, y, ivar, pen, a.lam)

    ours = fit(X, y, ivar, pen, a.lam, burn_in_snr=a.burn_in_snr)
    print(f"ours:     {ours.time:8.2f} s  objective {ours.objective:.6f}  iterations {ours.n_iter} "
          f"(burn-in {ours.burn_in.n_iter}, {ours.burn_in.time:.2f} s)  zeros {ours.zero_fraction:.4f}  "
          f"converged {ours.converged}: {ours.message}", flush=True)
    again = fit(X, y, ivar, pen, a.lam, theta0=ours.theta)
    print(f"restart:  {again.time:8.2f} s  objective {again.objective:.6f}  ({again.n_iter} iterations)", flush=True)

    out = {}
    if not a.skip_baseline:
        base = fit_baseline(X, y, ivar, pen, a.lam, burn_in_snr=a.burn_in_snr)
        print(f"baseline: {base.time:8.2f} s  objective {base.objective:.6f}  evaluations {base.n_iter}  "
              f"zeros {base.zero_fraction:.4f}  |theta|<1e-6: {np.mean(np.abs(base.theta[pen]) < 1e-6):.4f}  "
              f"{base.message}", flush=True)
        out.update(speedup=round(base.time / ours.time, 2), objective_baseline=base.objective,
                   objective_ratio=ours.objective / base.objective, time_baseline=round(base.time, 2),
                   zero_fraction_baseline=base.zero_fraction)
    print(f"truth:    objective {f_true:.6f}")
    hi = snr > a.burn_in_snr
    err = np.exp((X[hi].astype(np.float64) @ (ours.theta - theta_true))) - 1.0
    out = dict(
        speedup=out.pop("speedup", None), objective_ours=ours.objective, **out, time_ours=round(ours.time, 3),
        zero_fraction=ours.zero_fraction, converged=ours.converged, restart_objective_change=again.objective - ours.objective,
        objective_truth=f_true, high_snr_rms_frac_error=float(np.sqrt(np.mean(err**2))),
        n_stars=a.n_stars, n_features=a.n_features, lam=a.lam,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
