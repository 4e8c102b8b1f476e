"""`spectroparallax summary` on the paper's published catalog, against an independent numpy calculation.

The published catalog (tests/data/data_HoggEilersRix2018.fits, Zenodo record 1468053) has our column
names; its Gaia_parallax includes the 0.048 mas offset and 30 rows have none. The reference numbers
below are computed from the raw FITS columns with numpy alone (no spectroparallax code).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

PUBLISHED = Path(__file__).parent / "data" / "data_HoggEilersRix2018.fits"


def run_cli(*args):
    """The installed console script (as users call it), else ``python -m spectroparallax.cli``."""
    script = shutil.which("spectroparallax", path=str(Path(sys.executable).parent))
    cmd = [script] if script else [sys.executable, "-m", "spectroparallax.cli"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=120)


def half_16_84(x):
    lo, hi = np.percentile(x, [16, 84])
    return (hi - lo) / 2


def by_hand(path, offset=0.048, snr_min=20.0):
    """Every number of the summary, from the FITS columns with numpy (NaN marks the 30 missing Gaia rows)."""
    d = fits.getdata(path, 1)
    gaia = d["Gaia_parallax"].astype(float)
    gaia_err = d["Gaia_parallax_err"].astype(float)
    spec, spec_err = d["spec_parallax"].astype(float), d["spec_parallax_err"].astype(float)
    train = d["training_set"] == 1
    sample = np.char.strip(d["sample"].astype(str))
    ref = {"offset": offset, "snr_min": snr_min, "n_stars": len(d), "n_with_prediction": int(np.isfinite(spec).sum()),
           "n_with_gaia": int(np.isfinite(gaia).sum())}
    for s in ("A", "B"):
        ref[f"n_sample_{s}"] = int((sample == s).sum())
        ref[f"n_training_{s}"] = int(((sample == s) & train).sum())
    with np.errstate(invalid="ignore"):
        paper = train & ((gaia - offset) / gaia_err >= snr_min)   # Gaia DR2's own parallax_over_error
        high = train & (gaia / gaia_err >= snr_min)
    ref["n_high_snr_gaia"] = int(paper.sum())
    ratio = spec[paper] / gaia[paper] - 1
    ref["scatter_high_snr_gaia"], ref["bias_high_snr_gaia"] = half_16_84(ratio), np.median(ratio)
    ref["n_high_snr"] = int(high.sum())
    ratio = spec[high] / gaia[high] - 1
    ref["scatter_high_snr"], ref["bias_high_snr"] = half_16_84(ratio), np.median(ratio)
    ratio0 = spec[high] / (gaia[high] - offset) - 1
    ref["scatter_high_snr_no_offset"], ref["bias_high_snr_no_offset"] = half_16_84(ratio0), np.median(ratio0)
    t = train & np.isfinite(gaia)
    ref["normalized_residual_width"] = half_16_84((gaia[t] - spec[t]) / np.sqrt(gaia_err[t] ** 2 + spec_err[t] ** 2))
    ref["median_fractional_uncertainty"] = np.median(spec_err / spec)
    has = np.isfinite(gaia_err)
    ref["fraction_more_precise_than_gaia"] = np.count_nonzero(spec_err[has] < gaia_err[has]) / has.sum()
    return ref


def test_the_shipped_copy_is_the_published_catalog():
    d = fits.getdata(PUBLISHED, 1)
    assert len(d) == 44784                                   # HER19 sec. 4: the Parent Sample
    assert (~np.isfinite(d["Gaia_parallax"])).sum() == 30    # shared/data/README.md


@pytest.mark.parametrize("options, offset, snr_min", [((), 0.048, 20.0), (("--snr-min", 10, "--offset", 0.029), 0.029, 10.0)],
                         ids=["paper", "options"])
def test_summary_json_on_the_published_catalog_matches_numpy(options, offset, snr_min):
    out = run_cli("summary", PUBLISHED, "--json", *options)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == 1            # one JSON object
    got = json.loads(out.stdout)
    ref = by_hand(PUBLISHED, offset, snr_min)
    assert got.pop("catalog") == str(PUBLISHED)
    assert set(got) == set(ref)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=0), key
    if not options:
        # The paper's headline by its own definition (HER19 sec. 5, "better than 9 percent"; issue 17):
        # 1070 stars, scatter 0.0908, bias -0.0264 ...
        assert got["n_high_snr_gaia"] == 1070
        assert round(got["scatter_high_snr_gaia"], 4) == 0.0908 and round(got["bias_high_snr_gaia"], 4) == -0.0264
        # ... and with the offset added before the cut, 1400 stars and 9.4 %.
        assert got["n_high_snr"] == 1400 and round(got["scatter_high_snr"], 4) == 0.0937


def test_summary_prints_an_aligned_table_with_units():
    out = run_cli("summary", PUBLISHED)
    assert out.returncode == 0, out.stderr
    ref = by_hand(PUBLISHED)
    lines = out.stdout.splitlines()
    rows = {line.split("  ")[1].strip(): line for line in lines[1:] if line.startswith("  ") and "  " in line[2:]}
    assert rows["stars in the catalog"].endswith(f" {ref['n_stars']}")
    assert rows["robust fractional scatter, high-S/N, offset added (Fig. 2)"].endswith(
        f" {100 * ref['scatter_high_snr']:.2f} %")
    # The paper's definition comes first, each labelled.
    labels = list(rows)
    assert labels.index("robust fractional scatter, high-S/N, paper's definition") < labels.index(
        "robust fractional scatter, high-S/N, offset added (Fig. 2)")
    assert rows["robust fractional scatter, high-S/N, paper's definition"].endswith(" 9.08 %")
    assert rows["stars more precise than Gaia (Fig. 5)"].endswith(
        f" {100 * ref['fraction_more_precise_than_gaia']:.2f} %")
    offset_row = next(line for line in lines if "offset included" in line)
    assert "no PLXOFFST" in offset_row and offset_row.endswith("0.048 mas")
    # Values are right-aligned in one column: every number ends at the same place (units follow).
    ends = {len(line.removesuffix(" %").removesuffix(" mas")) for line in rows.values()}
    assert len(ends) == 1, lines


def test_offset_comes_from_our_catalog_header(tmp_path):
    cat = Table.read(PUBLISHED)[:2000]
    cat.meta["PLXOFFST"] = 0.029
    cat.write(tmp_path / "ours.fits")
    got = json.loads(run_cli("summary", tmp_path / "ours.fits", "--json").stdout)
    assert got["offset"] == 0.029
    assert got["bias_high_snr_no_offset"] == pytest.approx(by_hand(tmp_path / "ours.fits", offset=0.029)["bias_high_snr_no_offset"])


def test_missing_file_is_one_clear_line(tmp_path):
    out = run_cli("summary", tmp_path / "nope.fits")
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "nope.fits: no such file" in out.stderr


def test_missing_column_is_named(tmp_path):
    cat = Table.read(PUBLISHED)[:100]
    del cat["spec_parallax_err"]
    cat.write(tmp_path / "cut.csv")
    out = run_cli("summary", tmp_path / "cut.csv")
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "cut.csv: missing required column(s) spec_parallax_err;" in out.stderr


def test_a_file_that_is_not_a_table_is_one_clear_line(tmp_path):
    (tmp_path / "notes.txt").write_text("not a catalog\n")
    out = run_cli("summary", tmp_path / "notes.txt")
    assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "notes.txt: not a readable table" in out.stderr
