"""The README's commands run as written on a fresh clone: every command is a venv program, every
Snakemake command passes a dry run (`-n`) from a scratch folder holding the checkout's workflow,
and the two set-up commands are the ones the docs repeat."""

import importlib.util
import re
import shlex
import subprocess
import sys

import pytest

#: The README's set-up commands for a fresh machine, in this order: the main job on the mock, the tests.
SETUP = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/snakemake --cores 2 --config survey=mock",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest",
)
#: What a command of the checkout is run with (the README writes it with the venv's path).
PROGRAMS = ("snakemake", "python", "pip", "spectroparallax")


def _bash_blocks(readme: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)


def readme_commands(readme: str) -> list[str]:
    """Every command of the README: the lines of its bash blocks and the inline code spans that
    start with a program and have arguments (``.venv/bin/...``, ``python3``, or a bare program name
    with two or more arguments; `.venv/bin/snakemake` or `spectroparallax summary` is a mention)."""
    commands = [line for block in _bash_blocks(readme) for line in block.splitlines() if line.strip()]
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if " " in span and span.startswith((".venv/bin/", "python3 ")) or span.split(" ")[0] in PROGRAMS and span.count(" ") >= 2:
            commands.append(span)
    return commands


def _steps(command: str) -> list[list[str]]:
    return [shlex.split(step) for step in command.split(" && ")]


def test_readme_setup_commands_are_the_ones_the_docs_use(repo):
    readme = (repo / "README.md").read_text()
    assert tuple(_bash_blocks(readme)[:2]) == SETUP
    # .ci/run runs the test command verbatim, the Snakefile's header names the main command's run
    assert SETUP[1] in (repo / ".ci" / "run").read_text()
    main_run = SETUP[0].split(" && ")[-1]
    assert main_run in (repo / "Snakefile").read_text().split("from snakemake")[0]


def test_readme_commands_use_the_venv(repo):
    commands = readme_commands((repo / "README.md").read_text())
    assert len(commands) >= 15, commands
    for command in commands:
        for step in _steps(command):
            assert step[0] not in PROGRAMS, f"README command without .venv/bin/: {command}"
            assert step[0] in ("python3",) or step[0].startswith(".venv/bin/"), command


def test_readme_commands_dry_run(repo, tmp_path):
    """Each Snakemake command of the README, verbatim plus `-n`, from a scratch folder with the
    checkout's workflow; the example config file it describes is written from its yaml block;
    programs' file arguments must exist."""
    readme = (repo / "README.md").read_text()
    for name in ("Snakefile", "config.yaml", "config", "workflow", "benchmarks", "tests"):
        (tmp_path / name).symlink_to(repo / name)
    example = re.search(r"a file `([\w.-]+\.yaml)` holding\n\n```yaml\n(.*?)```", readme, flags=re.S)
    (tmp_path / example.group(1)).write_text(example.group(2))
    slurm_plugin = importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None
    ran, skipped = [], []
    for command in dict.fromkeys(readme_commands(readme)):
        for step in _steps(command):
            program, args = step[0].removeprefix(".venv/bin/"), step[1:]
            if program == "snakemake":
                if "workflow/profiles/slurm" in args and not slurm_plugin:
                    skipped.append(command)   # tests/slurm/run.sh dry-runs it with the plugin
                    continue
                if "--report" in args:   # a report needs a finished run: check the rest of the command
                    i = args.index("--report")
                    args = args[:i] + args[i + 2:]
                out = subprocess.run([sys.executable, "-m", "snakemake", *args, "-n"], cwd=tmp_path,
                                     capture_output=True, text=True, timeout=300)
                assert out.returncode == 0, f"{command}\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
                assert "This was a dry-run" in out.stdout + out.stderr, command
                ran.append(command)
            elif program == "python" and args and args[0].endswith(".py"):
                assert (tmp_path / args[0]).is_file(), command
            elif program == "spectroparallax" and args[1:] and args[1] != "CATALOG":
                assert (tmp_path / args[1]).is_file(), command
    assert len(ran) >= 10, (ran, skipped)


def _crossval_mem_mb(dry_run_output: str) -> int:
    job = re.search(r"rule crossval:\n(?:    .*\n)*?    resources: .*?mem_mb=(\d+)", dry_run_output)
    return int(job.group(1))


@pytest.mark.parametrize(("name", "crossval_mem_mb"), [("mock.yaml", (300, 600)), ("mock-paper-size.yaml", (4000, 6000))])
def test_config_examples_validate_and_dry_run(repo, tmp_path, name, crossval_mem_mb):
    """The shipped config/ examples pass the schema (the Snakefile validates the merged config) and
    dry-run on the mock. The job sizes follow mock.n_stars before any file exists
    (spectroparallax.io.jobsize), so crossval's memory request shows the example's size arrived:
    ~330 MB for the 4,000-row mock, ~4.6 GB at the paper's size (README "Resources")."""
    for link in ("Snakefile", "config.yaml", "config", "workflow"):
        (tmp_path / link).symlink_to(repo / link)
    out = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", f"config/{name}", "-n"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "rule mock_survey:" in out.stdout and "results/mock/catalog" in out.stdout
    low, high = crossval_mem_mb
    assert low <= _crossval_mem_mb(out.stdout) <= high
