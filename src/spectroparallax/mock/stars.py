"""Stellar labels, masses, luminosities and absolute magnitudes of the mock's stars.

Four classes of star reach an APOGEE-like H-band selection: upper red-giant branch
("upper_rgb", the paper's targets, true logg below ~2.4), red clump, lower RGB, and dwarfs.
Luminosity follows from L = 4 pi G M sigma Teff^4 / g; mass is set by chemistry ([Fe/H],
[alpha/M]) with a small intrinsic scatter, so the spectrum (which encodes Teff, logg and
abundances) mostly determines the luminosity. Absolute magnitudes use simple bolometric
corrections and colours that depend on Teff and [Fe/H].
"""

import numpy as np

STAR_CLASSES = ("upper_rgb", "red_clump", "lower_rgb", "dwarf")
BANDS = ("G", "BP", "RP", "J", "H", "K", "W1", "W2")

TEFF_SUN = 5772.0   # K (IAU 2015 B3)
LOGG_SUN = 4.438    # dex, cgs
MBOL_SUN = 4.74     # mag (IAU 2015 B2)


def draw_chemistry(population, rng):
    """Draw ([Fe/H], [alpha/M]) [dex] for each star's population (thin, thick, bulge)."""
    n = len(population)
    fe_h, alpha_m = np.empty(n), np.empty(n)
    thin, thick, bulge = (population == p for p in ("thin", "thick", "bulge"))
    fe_h[thin] = np.clip(rng.normal(-0.05, 0.22, thin.sum()), -1.0, 0.5)
    alpha_m[thin] = -0.12 * fe_h[thin]
    fe_h[thick] = np.clip(rng.normal(-0.5, 0.25, thick.sum()), -1.6, 0.2)
    alpha_m[thick] = np.clip(0.25 - 0.1 * (fe_h[thick] + 0.5), 0.12, 0.35)
    fe_h[bulge] = np.clip(rng.normal(-0.1, 0.35, bulge.sum()), -1.5, 0.5)
    alpha_m[bulge] = np.clip(0.15 - 0.15 * fe_h[bulge], 0.0, 0.35)
    alpha_m = alpha_m + rng.normal(0.0, 0.03, n)
    return fe_h, alpha_m


def mass_from_chemistry(fe_h, alpha_m, rng, mass_scatter):
    """Stellar mass [Msun]: ~1.0 for old alpha-rich stars, ~1.3-1.6 for young alpha-poor ones.

    The log-normal intrinsic scatter ``mass_scatter`` [dex in ln] is the part of the mass (hence
    luminosity) that the spectrum cannot know.
    """
    youth = np.clip((0.22 - alpha_m) / 0.22, 0.0, 1.0)
    mass = 1.0 + 0.5 * youth + 0.15 * fe_h
    return np.clip(mass * np.exp(rng.normal(0.0, mass_scatter, np.size(fe_h))), 0.7, 2.5)


def rgb_teff(logg, fe_h, alpha_m):
    """Effective temperature [K] of the giant branch at (logg, [Fe/H], [alpha/M])."""
    return 4480.0 + 380.0 * (logg - 2.0) - 210.0 * fe_h - 100.0 * alpha_m


def draw_labels(star_class, population, rng, mass_scatter, upper_rgb_logg_scale):
    """Draw true labels for stars of the given classes and populations.

    Upper-RGB logg follows p(logg) ~ exp(logg / ``upper_rgb_logg_scale``) on [0.3, 2.45] (more
    stars at higher gravity, as on the real giant branch). Returns a dict with teff [K], logg
    [dex], fe_h, alpha_m [dex] and mass [Msun].
    """
    n = len(star_class)
    fe_h, alpha_m = draw_chemistry(population, rng)
    logg, teff = np.empty(n), np.empty(n)
    mass = mass_from_chemistry(fe_h, alpha_m, rng, mass_scatter)

    sel = star_class == "upper_rgb"
    lo, hi, s = 0.3, 2.45, upper_rgb_logg_scale
    q = rng.random(sel.sum())
    logg[sel] = s * np.log(np.exp(lo / s) + q * (np.exp(hi / s) - np.exp(lo / s)))
    sel = star_class == "lower_rgb"
    logg[sel] = rng.uniform(2.3, 3.7, sel.sum())
    rgb = (star_class == "upper_rgb") | sel
    teff[rgb] = rgb_teff(logg[rgb], fe_h[rgb], alpha_m[rgb]) + rng.normal(0, 40.0, rgb.sum())

    sel = star_class == "red_clump"
    logg[sel] = np.clip(rng.normal(2.45, 0.07, sel.sum()), 2.3, 2.65)
    teff[sel] = 4700.0 - 300.0 * fe_h[sel] + rng.normal(0, 60.0, sel.sum())

    sel = star_class == "dwarf"
    logg[sel] = np.clip(rng.normal(4.45, 0.15, sel.sum()), 4.0, 4.8)
    teff[sel] = rng.uniform(4200.0, 6300.0, sel.sum())
    mass[sel] = (teff[sel] / TEFF_SUN) ** 1.9
    return {"teff": teff, "logg": logg, "fe_h": fe_h, "alpha_m": alpha_m, "mass": mass}


def luminosity(teff, logg, mass):
    """Luminosity [Lsun] from L = 4 pi G M sigma Teff^4 / g (teff [K], logg [dex cgs], mass [Msun])."""
    return mass * (teff / TEFF_SUN) ** 4 * 10.0 ** (LOGG_SUN - logg)


def absolute_magnitudes(teff, logg, fe_h, mass):
    """Absolute magnitudes [mag] in G, BP, RP, J, H, K, W1, W2 (dict band -> array).

    M_G = M_bol - BC_G with BC_G and the colours smooth functions of theta = 5040 K / Teff and
    [Fe/H], shaped to follow the Gaia DR2 / 2MASS / WISE loci of giants and dwarfs.
    """
    m_bol = MBOL_SUN - 2.5 * np.log10(luminosity(teff, logg, mass))
    t = np.clip(5040.0 / teff, 0.8, 1.45)
    dt = t - 1.12
    bp_rp = 1.2 + 2.8 * dt + 4.0 * dt**2 + 0.1 * fe_h
    bc_g = 0.06 - 1.6 * (t - 0.873) - 1.5 * (t - 0.873) ** 2 + 0.05 * fe_h
    g = m_bol - bc_g
    rp = g - (0.18 + 0.38 * bp_rp)
    k = g - (-0.19 + 2.0 * bp_rp - 0.1 * bp_rp**2)
    j = k + 0.64 + 1.6 * dt + 0.05 * fe_h
    h = k + np.maximum(0.1 + 0.35 * dt, 0.0)
    w1 = k - (0.05 + 0.2 * dt)
    w2 = w1 - (-0.05 - 0.15 * dt)
    return {"G": g, "BP": rp + bp_rp, "RP": rp, "J": j, "H": h, "K": k, "W1": w1, "W2": w2}
