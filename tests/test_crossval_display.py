"""The cross-validation results where a user looks: the grid-edge warning on the console at the end
of a run, on the figure and in the report, and the report's table rounded to what matters."""

import re

import yaml
from astropy.table import Table
from conftest import run_snakemake

from spectroparallax.figures import crossval

# lambda 3 is the smallest of a three-value grid: the chosen setting is at the grid's edge.
CROSSVAL = """lambda,offset,chi2,n_chi2,scatter_high_snr,bias_high_snr,n_high_snr,zero_fraction,converged,delta_chi2,delta_chi2_se,chosen
3.0,0.048,1734.358611773498,930,0.0687712345678,-0.027312345678,36,0.98987654321,True,0.0,0.0,True
10.0,0.048,1815.25123456789,930,0.0879123456789,-0.0235123456789,36,0.99512345678,True,80.89262279439,31.2345678,False
30.0,0.048,2088.75987654321,930,0.0992123456789,-0.0408123456789,36,0.99812345678,True,354.40126477,40.98765,False
"""
BEST = {"lambda": 3.0, "offset": 0.048}
WARNING = "the chosen lambda 3 is the smallest value of model.lambda_grid"


def _table(tmp_path):
    (tmp_path / "crossval.csv").write_text(CROSSVAL)
    return Table.read(tmp_path / "crossval.csv")


def test_edge_warning_and_figure_text(tmp_path):
    table = _table(tmp_path)
    assert WARNING in crossval.edge_warning(table, BEST)
    assert crossval.edge_warning(table, {"lambda": 10.0, "offset": 0.048}) is None
    title = crossval.crossval(table, BEST)._suptitle
    assert title is not None and "Warning: the chosen lambda 3 is the smallest" in title.get_text()
    assert crossval.crossval(table, {"lambda": 10.0, "offset": 0.048})._suptitle is None


def test_display_table_rounds(tmp_path):
    rows = crossval.display_table(_table(tmp_path))
    header = rows[0]
    cell = {name: rows[2][header.index(name)] for name in header}
    assert cell["chi2"] == "1815.3" and cell["delta chi2"] == "80.9" and cell["delta chi2 se"] == "31.2"
    assert cell["scatter high S/N"] == "0.0879" and cell["bias high S/N"] == "-0.0235"
    assert cell["zero fraction"] == "0.995" and cell["lambda"] == "10" and cell["n high S/N"] == "36"
    assert rows[1][header.index("chosen")] == "chosen" and cell["chosen"] == ""
    # narrow enough for the report's panel: short cells, headers that wrap between short words
    assert max(len(c) for row in rows[1:] for c in row) <= 8
    assert max(len(word) for name in header for word in name.split()) <= 9


def test_edge_warning_on_console_and_in_report(config, tmp_path):
    """figure_crossval run on a hand-made crossval.csv / best.yaml: the Snakefile's onsuccess prints
    the warning, the rule writes the rounded table and the note, and the report shows both."""
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg["survey"] = "mock"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    folder = tmp_path / "results/mock/crossval"
    folder.mkdir(parents=True)
    (folder / "crossval.csv").write_text(CROSSVAL)
    (folder / "best.yaml").write_text(yaml.safe_dump(BEST))
    # the report shows every report file of the DAG: the cut-flow is upstream of crossval
    (tmp_path / "results/mock/samples").mkdir()
    (tmp_path / "results/mock/samples/cutflow.csv").write_text("sample,cut,removed,remaining\nparent,allStar rows,0,4321\n")

    def snakemake(*args):
        out = run_snakemake(tmp_path, *args, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out

    out = snakemake("--cores", "1", "figure_crossval")
    assert f"WARNING (cross-validation, results/mock/crossval/best.yaml): {WARNING}" in out.stderr
    # printed after Snakemake's last job line, i.e. at the end of the run
    assert out.stderr.rindex(WARNING) > out.stderr.rindex("steps (100%) done")
    assert WARNING in (tmp_path / "results/mock/figures/crossval_note.rst").read_text()

    snakemake("--report", str(tmp_path / "report.html"), "--cores", "1", "figure_crossval")
    html = (tmp_path / "report.html").read_text()
    assert "Two-fold cross-validation</strong>" in html
    # the note in both captions (table and figure), the rounded cells, and no long numbers
    assert html.count(WARNING) >= 2
    for cell in ("1734.4", "1815.3", "0.0879", "-0.0235", "0.995", "80.9", "chosen"):
        assert f"<td>{cell}</td>" in html, cell
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert not [c for c in cells if re.fullmatch(r"-?\d+\.\d{5,}", c)], "unrounded numbers in a table"
