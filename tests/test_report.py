"""`snakemake --report`: the workflow description, the cut-flow and summary tables (the
cross-validation table, which the rule figure_crossval rounds for the report: test_crossval_display.py).

The inputs of the report's tables are put in place (the published catalog stands in for ours: same
columns), the rule `summary` runs for real, and the report must show each table's caption and its
rows (the captions embed the CSV files as tables).
"""

import json
import subprocess
import sys

import yaml
from astropy.table import Table

from test_cli import PUBLISHED

CUTFLOW = """sample,cut,removed,remaining
parent,allStar rows,0,4321
parent,"eq. 6: J - K >= 0.4 + 0.45 (BP - RP)",17,4304
training A,Parent Sample A,0,2150
training A,eq. 8: parallax_error >= 0.1 mas,93,2057
"""


def test_report_shows_the_tables_with_their_captions(repo, config, tmp_path):
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg["survey"] = "mock"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "results/mock/samples").mkdir(parents=True)
    (tmp_path / "results/mock/samples/cutflow.csv").write_text(CUTFLOW)
    (tmp_path / "results/mock/catalog").mkdir()
    Table.read(PUBLISHED).write(tmp_path / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    from spectroparallax.catalog.calibration import Calibration, calibration_table
    calibration_table({"A": Calibration(1.52, 0.061, 0.02, 0.05, 0.004, 0.01, 470)}, ["A", "B"]).write(
        tmp_path / "results/mock/catalog/calibration.csv")

    def snakemake(*args):
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(tmp_path / "config.yaml"), *args]
        out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out

    snakemake("--cores", "1", "summary")
    summary = json.loads((tmp_path / "results/mock/summary/summary.json").read_text())
    assert summary["n_stars"] == len(Table.read(PUBLISHED))
    assert Table.read(tmp_path / "results/mock/summary/summary.csv")["quantity"].tolist() == list(summary)

    # the report of the summary's DAG (the default target also needs the figures, not built here)
    snakemake("--report", str(tmp_path / "report.html"), "--cores", "1", "summary")
    html = (tmp_path / "report.html").read_text()
    assert len(html) > 100_000
    # the workflow description, citing the paper
    assert "rebuilds the spectrophotometric parallaxes" in html and "AJ 158, 147" in html
    # each table's caption, and its rows rendered as an HTML table
    assert "Cut-flow</strong> of the Parent Sample" in html
    assert "Headline numbers</strong>" in html
    assert "The uncertainty model</strong>" in html and "<td>calibrated</td>" in html and "<td>eq5</td>" in html
    for cell in ("eq. 6: J - K &gt;= 0.4 + 0.45 (BP - RP)", "4304", "robust fractional scatter, high-S/N, offset added (Fig. 2)",
                 "robust fractional scatter, high-S/N, paper's definition", str(summary["n_high_snr"])):
        assert f"<td>{cell}</td>" in html, cell
    assert html.count('class=\\"docutils\\"') >= 2
