"""Cross-validation chooses the parallax offset from the data, not from its reference value.

On the default mock the true zero point (0.048 mas) is also model.reference_offset, and chi^2 cannot
tell the offsets apart there, so a cross-validation that ignored the offset grid would pass every
other test. Here the mock's Gaia parallaxes carry no zero point (mock.parallax_zero_point 0) while
the reference offset is 0.1 mas: the held-out score (the improved mode's deviance, switches.cv_score)
must prefer the true offset by more than its standard error (model.reference_offset_tolerance of them),
and crossval must choose it and say why. Measured: deviance 116.7 +- 26.8 (4.35 standard errors);
eq. 2's chi^2 on the same models 209.6 +- 114.8 (1.83).
"""

import pytest
import yaml
from astropy.table import Table

from conftest import run_snakemake, write_mock_config


@pytest.mark.slow
def test_crossval_chooses_the_true_offset_over_the_reference(config, tmp_path):
    write_mock_config(config, tmp_path, mock={"parallax_zero_point": 0.0},
                      model={"lambda_grid": [10.0], "offset_grid": [0.0, 0.1], "reference_offset": 0.1})
    out = run_snakemake(tmp_path, "--cores", "2", "results/mock/crossval/best.yaml")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]

    best = yaml.safe_load((tmp_path / "results/mock/crossval/best.yaml").read_text())
    assert best["score"] == "deviance"
    table = Table.read(tmp_path / "results/mock/crossval/crossval.csv")
    by_offset = {float(row["offset"]): row for row in table}
    assert set(by_offset) == {0.0, 0.1}
    reference = by_offset[0.1]
    assert reference["delta_deviance"] > reference["delta_deviance_se"] > 0   # worse by more than one SE
    # crossval.csv writes the flag as text
    assert (str(by_offset[0.0]["chosen"]), str(reference["chosen"])) == ("True", "False")

    assert (best["lambda"], best["offset"]) == (10.0, 0.0)
    tolerance = config["model"]["reference_offset_tolerance"]
    assert reference["delta_deviance"] > tolerance * reference["delta_deviance_se"]
    assert (f"lowest held-out deviance; every setting with the reference offset 0.1 mas is worse by more than {tolerance:g} standard errors"
            in " ".join(best["reason"].split()))
