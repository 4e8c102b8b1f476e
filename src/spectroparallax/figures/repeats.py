"""The split-stability figure (model.split_repeats): the coefficients of every repeat's models
overlaid, how often each spectral pixel survives the L1 penalty, and the spread of spec_parallax over
the repeats against the quoted uncertainty (spectroparallax.model.repeats)."""

import numpy as np

from spectroparallax.model.files import SMALL_COEFFICIENT

from . import common


def _columns(model, kind: str):
    kinds = np.asarray(model["kind"], dtype=str)
    sel = kinds == kind
    return (np.asarray(model["name"], dtype=str)[sel], np.asarray(model["wavelength"], float)[sel],
            np.asarray(model["theta"], float)[sel])


def selection_fraction(models: dict) -> tuple[np.ndarray, np.ndarray]:
    """Wavelength [Angstrom] of each spectral feature and the fraction of ``models`` in which its
    coefficient counts as non-zero (|theta| >= files.SMALL_COEFFICIENT, as the header's SMALLFRC
    counts: the paper's optimizer makes no exact zeros)."""
    first = next(iter(models.values()))
    _, wave, _ = _columns(first, "spectrum")
    thetas = np.array([_columns(m, "spectrum")[2] for m in models.values()])
    return wave, np.mean(np.abs(thetas) >= SMALL_COEFFICIENT, axis=0)


def repeat_coefficients(models: dict, summary):
    """Four panels. 1: every model's non-zero spectral coefficients against wavelength, colour =
    repeat, marker = held-out fold. 2: the fraction of the models in which each pixel's coefficient is
    non-zero. 3: the photometric coefficients and the constant term, one point per model. 4: the
    spread of spec_parallax over the repeats in units of the quoted error (spec_parallax_err) per S/N bin
    (``summary``: spread_summary.ecsv).

    ``models``: {(repeat, held-out fold): model Table (spectroparallax.model.files.read_model)}.
    """
    repeats = sorted({r for r, _ in models})
    folds = sorted({f for _, f in models})
    colours = {r: f"C{k % 10}" for k, r in enumerate(repeats)}
    markers = dict(zip(folds, "o^sDv<>p*h"))
    fig = common.new_figure(7.2, 9.4)
    ax_spec, ax_sel, ax_phot, ax_ratio = fig.subplots(4, 1, height_ratios=[1.3, 0.8, 1.0, 1.0])
    first = next(iter(models.values()))
    fig.suptitle(f"{len(repeats)} random splits x {len(folds)} held-out folds at lambda {first.meta.get('LAM')}, "
                 f"offset {first.meta.get('OFFSET')} mas")

    ax_spec.axhline(0, color="0.7", lw=0.8, zorder=0)
    for (r, fold), m in models.items():
        _, wave, theta = _columns(m, "spectrum")
        keep = np.abs(theta) >= SMALL_COEFFICIENT
        ax_spec.plot(wave[keep], theta[keep], markers[fold], color=colours[r], ms=2.5, alpha=0.6, mfc="none",
                     rasterized=True, label=f"repeat {r}, held out {fold} ({keep.sum()} non-zero)")
    ax_spec.set(xlabel=r"wavelength [$\AA$]", ylabel=r"$\theta$ per $\ln f$")
    ax_spec.set_title(f"spectral coefficients with |theta| >= {SMALL_COEFFICIENT:g}, every model", loc="left")
    ax_spec.legend(fontsize="x-small", ncol=2, loc="best", markerscale=2)

    wave, frac = selection_fraction(models)
    n = len(models)
    ax_sel.vlines(wave[frac > 0], 0, frac[frac > 0], color="tab:blue", lw=0.6, rasterized=True)
    ax_sel.set(xlabel=r"wavelength [$\AA$]", ylabel="fraction of models", ylim=(0, 1.05))
    ax_sel.set_title(f"pixels non-zero in all {n} models: {(frac == 1).sum()}; in at least one: {(frac > 0).sum()} "
                     f"of {frac.size}", loc="left")

    names, _, _ = _columns(first, "photometry")
    labels = [*names, "constant"]
    width = 0.7 / n
    for k, ((r, fold), m) in enumerate(models.items()):
        theta = np.concatenate([_columns(m, "photometry")[2], _columns(m, "offset")[2]])
        x = np.arange(theta.size) + (k - (n - 1) / 2) * width
        ax_phot.plot(x, theta, markers[fold], color=colours[r], ms=4, mfc="none")
    ax_phot.set_xticks(np.arange(len(labels)), labels)
    ax_phot.axhline(0, color="k", lw=0.6)
    thetas = np.array([np.concatenate([_columns(m, "photometry")[2], _columns(m, "offset")[2]])
                       for m in models.values()])
    spread = thetas.std(axis=0, ddof=1) if len(thetas) > 1 else np.zeros(thetas.shape[1])
    worst = int(np.argmax(spread))
    ax_phot.set(xlabel="photometric band", ylabel=r"$\theta$ [ln(mas) / mag]")
    ax_phot.set_title(f"photometric coefficients, every model; largest std over the models: {labels[worst]} "
                      f"{spread[worst]:.3f}", loc="left")

    bins = [row for row in summary if row["stars"] != "all"]
    mid = np.sqrt([row["snr_min"] * row["snr_max"] for row in bins])
    lo, med, hi = (np.array([row[f"ratio_p{p}"] for row in bins]) for p in (16, 50, 84))
    ax_ratio.errorbar(mid, med, yerr=[med - lo, hi - med], fmt="o", color="k", capsize=3,
                      label="median of spread / quoted error per star (16th-84th percentile)")
    ax_ratio.plot(mid, [row["ratio_p50_corrected"] for row in bins], "s", color="tab:red", mfc="none",
                  label=f"median corrected for {summary.meta.get('n_repeats')} repeats (/ "
                        f"{summary.meta.get('median_std_factor', float('nan')):.3f})")
    for row in bins:
        ax_ratio.axvspan(row["snr_min"], row["snr_max"], color="0.9" if bins.index(row) % 2 else "0.95", zorder=0)
    overall = next(row for row in summary if row["stars"] == "all")
    ax_ratio.axhline(1, color="0.5", lw=0.8, ls="--")
    ax_ratio.set(xscale="log", xlabel="APOGEE S/N (bins: quartiles)", ylabel="spread / quoted error")
    n_repeats = summary.meta.get('n_repeats', len(repeats))
    ax_ratio.set_title(f"spec_parallax spread over {n_repeats} repeats vs quoted error: "
                       f"all {overall['n_stars']} stars, median ratio {overall['ratio_p50']:.2f} "
                       f"({overall['ratio_p50_corrected']:.2f} corrected)", loc="left")
    ax_ratio.legend(fontsize="x-small", loc="best")
    return fig
