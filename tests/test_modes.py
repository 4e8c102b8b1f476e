"""The modes and their switches (spectroparallax.modes): config.yaml, the schema and the README
name the same switches with the same values, and resolution follows the mode unless overridden."""

import pytest
import yaml

from spectroparallax import modes

from conftest import REPO, run_snakemake, write_mock_config


def test_resolve_takes_the_mode_then_each_override():
    paper = modes.resolve("paper")
    improved = modes.resolve("improved")
    assert set(paper) == set(improved) == set(modes.SWITCHES)
    assert paper["duplicates"] == "paper" and improved["duplicates"] == "improved"
    # The paper mode fits with the exact solver unless the paper's optimizer is asked for by name.
    assert paper["optimizer"] == improved["optimizer"] == "exact"
    mixed = modes.resolve("paper", {"duplicates": "improved", "optimizer": "paper", "split": None})
    assert mixed == {**paper, "duplicates": "improved", "optimizer": "paper"}


@pytest.mark.parametrize("mode, overrides, named", [
    ("papr", {}, "papr"),
    ("paper", {"dupes": "paper"}, "dupes"),
    ("paper", {"optimizer": "improved"}, "switches.optimizer"),
])
def test_a_bad_mode_switch_or_value_is_named(mode, overrides, named):
    with pytest.raises(ValueError, match=named):
        modes.resolve(mode, overrides)


def test_config_and_schema_list_every_switch_with_its_values():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert config["mode"] in modes.MODES
    assert set(schema["properties"]["mode"]["enum"]) == set(modes.MODES)
    assert config["switches"] == {name: None for name in modes.SWITCHES}   # all follow the mode
    properties = schema["properties"]["switches"]["properties"]
    assert list(properties) == list(modes.SWITCHES)
    for name, switch in modes.SWITCHES.items():
        assert properties[name]["enum"] == [None, *switch.choices], name
        assert switch.paper in switch.choices and switch.improved in switch.choices


def test_a_switch_set_alone_reaches_the_workflow_and_a_bad_one_stops_it(config, tmp_path):
    write_mock_config(config, tmp_path, switches={"split": "paper"})
    assert run_snakemake(tmp_path, "-n").returncode == 0
    write_mock_config(config, tmp_path, switches={"split": "sideways"})
    out = run_snakemake(tmp_path, "-n")
    assert out.returncode != 0
    said = out.stdout + out.stderr   # the schema says it (the value is not in the enum it lists)
    assert "switches" in said and "sideways" in said


def test_the_readme_deviation_table_has_one_row_per_switch():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Paper mode and improved mode"):]
    section = section[:section.index("\n## ")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(modes.SWITCHES)
    for row, (name, switch) in zip(rows, modes.SWITCHES.items()):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1:3] == [switch.paper, switch.improved], name
