"""pyproject.toml and the conda environments in envs/ must name the same packages and versions."""

import re
import tomllib

import yaml

# Needed to drive the workflow, not inside any rule's environment.
WORKFLOW_ONLY = {"snakemake", "pygments"}


def _requirement(spec: str) -> tuple[str, str]:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec.split("#")[0])
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_envs_agree_with_pyproject(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    pyproject = dict(_requirement(s) for s in project["dependencies"])
    python = project["requires-python"]

    seen = set()
    env_files = sorted((repo / "envs").glob("*.yaml"))
    assert env_files, "no conda environments in envs/"
    for env_file in env_files:
        env = yaml.safe_load(env_file.read_text())
        for spec in env["dependencies"]:
            assert isinstance(spec, str), f"{env_file.name}: pip sections are not expected: {spec}"
            name, version = _requirement(spec)
            if name == "python":
                assert version == python, f"{env_file.name}: python{version} but pyproject says {python}"
                continue
            assert name in pyproject, f"{env_file.name} lists {name}, which pyproject.toml does not"
            assert version == pyproject[name], (
                f"{env_file.name}: {name}{version} but pyproject.toml says {name}{pyproject[name]}"
            )
            seen.add(name)
    missing = set(pyproject) - WORKFLOW_ONLY - seen
    assert not missing, f"pyproject.toml dependencies in no conda environment: {sorted(missing)}"


def test_every_rule_names_an_existing_env(repo):
    rules = "\n".join(p.read_text() for p in (repo / "workflow" / "rules").glob("*.smk"))
    for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', rules):
        assert (repo / "workflow" / "rules" / env).resolve().is_file(), env


def test_ci_runs_the_readme_test_command(repo):
    readme = (repo / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    assert test_command in (repo / ".ci" / "run").read_text()
