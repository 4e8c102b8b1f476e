"""The figure rules on the mock run: each writes a PDF and a PNG, reads only what is built, and
rebuilds alone.

One ``snakemake figures`` in a copy of the mock run (conftest.figures_run), then one figure
rebuilt by file name and checked by rule name.
"""

import numpy as np
import yaml
from astropy.table import Table

from spectroparallax.figures import common
from conftest import copy_run, job_counts as _jobs, run_snakemake

FIGURES = ["figure1", "figure2", "figure3", "figure4", "figure5", "figure6",
           "figure_crossval", "figure_model", "figure_uncertainty"]
#: The figures whose style switches.figures picks (config figures.<figure> or figures.<figure>.paper).
STYLED = ["figure1", "figure2", "figure3", "figure5", "figure6"]


def _mtimes(work) -> dict:
    return {p: p.stat().st_mtime_ns for p in sorted((work / "results").rglob("*")) if p.is_file()}


def test_figures_runs_only_the_figure_rules(figures_run):
    _, _, out = figures_run
    assert _jobs(out) == {"figures": 1, "cluster_members": 1, **{name: 1 for name in FIGURES}}


def test_every_figure_rule_writes_a_pdf_and_a_png(figures_run):
    work, _, _ = figures_run
    for name in FIGURES:
        pdf, png = (work / f"results/mock/figures/{name}.{ext}" for ext in ("pdf", "png"))
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000, name
        assert (work / f"logs/mock/figures/{name}.log").stat().st_size > 0, name


def test_member_table_has_units(figures_run):
    work, cfg, _ = figures_run
    members = Table.read(work / "results/mock/clusters/members.ecsv")
    assert set(np.asarray(members["cluster"], str)) == set(cfg["clusters"])
    assert str(members["Gaia_parallax"].unit) == "mas" and str(members["VHELIO_AVG"].unit) == "km / s"


def test_one_figure_rebuilds_alone(figures_run):
    """After a full build nothing is left to do; a missing figure reruns only its own rule (no
    other file under results/ changes), and afterwards its rule name is up to date."""
    work, _, _ = figures_run
    assert "Nothing to be done" in run_snakemake(work, "-n", "figures").stdout
    target = work / "results/mock/figures/figure3.pdf"
    target.unlink()
    before = _mtimes(work)

    out = run_snakemake(work, "--cores", "1", "results/mock/figures/figure3.pdf")
    assert out.returncode == 0 and _jobs(out) == {"figure3": 1}, out.stdout + out.stderr

    after = _mtimes(work)
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == {target, work / "results/mock/figures/figure3.png"}
    by_rule = run_snakemake(work, "-n", "figure3")
    assert by_rule.returncode == 0 and "Nothing to be done" in by_rule.stdout, by_rule.stdout + by_rule.stderr


def test_the_figures_switch_picks_each_figures_style(figures_run, tmp_path):
    """Each styled figure's PNG records the style its rule drew it with (common.save's metadata): the
    project's in the improved run; after switches.figures: paper, exactly the five styled figures rerun
    and record figures.<figure>.paper, and Figs. 5 and 6 the stars each of the paper's cuts removed."""
    work, cfg, _ = figures_run
    assert cfg["switches"]["figures"] is None and cfg["mode"] == "improved"
    for name in STYLED:
        about = common.read_about(work / f"results/mock/figures/{name}.png")
        assert about["style"] == {k: v for k, v in cfg["figures"][name].items() if k != "paper"}, name
        assert about.get("removed", {}) == {}, name   # the project's styles cut no star
    paper = copy_run(work, tmp_path / "paper")
    paper_cfg = yaml.safe_load((paper / "config.yaml").read_text())
    paper_cfg["switches"]["figures"] = "paper"
    (paper / "config.yaml").write_text(yaml.safe_dump(paper_cfg))
    out = run_snakemake(paper, "--cores", "2", "figures")
    assert out.returncode == 0 and _jobs(out) == {"figures": 1, **{name: 1 for name in STYLED}}, out.stdout + out.stderr
    for name in STYLED:
        about = common.read_about(paper / f"results/mock/figures/{name}.png")
        assert about["style"] == cfg["figures"][name]["paper"], name
    removed = common.read_about(paper / "results/mock/figures/figure6.png")["removed"]
    assert list(removed) == ["no finite pmra, pmdec or VHELIO_AVG", "[alpha/M] >= 0.12",
                             "v_z >= 100 km/s (or no v_z)", "|[Fe/H]| >= 10 (or no [Fe/H])"]
    assert removed["[alpha/M] >= 0.12"] > 0
    assert list(common.read_about(paper / "results/mock/figures/figure5.png")["removed"]) == [
        "no finite pmra, pmdec or VHELIO_AVG", "[alpha/M] >= 0.12"]
