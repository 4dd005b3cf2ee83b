"""The README stays true: its set-up lines come first, and every `edgeseq` command it shows uses real options."""

import re
import shlex
import shutil

import pytest
from click.testing import CliRunner

from edgeseq.cli import cli

from conftest import REPO, run_cli

README = (REPO / "README.md").read_text(encoding="utf-8")
BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
COMMAND_LINES = sorted({line.split("#")[0].strip() for block in BASH_BLOCKS for line in block.splitlines()
                        if line.strip().startswith("edgeseq ")})


def test_first_lines_are_the_two_setup_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(first_block) == 2
    assert "pip install -e '.[train]'" in first_block[0] and first_block[0].split("#")[0].rstrip().endswith("edgeseq run")
    assert "pip install -e '.[dev]'" in first_block[1] and "python -m pytest" in first_block[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[dev]'" in ci and "python -m pytest -q" in ci


@pytest.mark.parametrize("line", COMMAND_LINES)
def test_readme_commands_use_real_options(line):
    words = shlex.split(line)
    command = words[1]
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, line
    for option in (w.split("=")[0] for w in words if w.startswith("--")):
        assert re.search(rf"{re.escape(option)}\b", result.output), f"{option} not in `edgeseq {command} --help`"


def test_every_command_is_documented():
    for name in cli.commands:
        assert f"edgeseq {name}" in README, name


# --- "Parity in your CI": the GitHub Actions and GitLab CI jobs ------------------------------------------------


def ci_jobs() -> tuple[dict, dict]:
    """The GitHub workflow and the GitLab pipeline of the section, parsed."""
    import yaml

    section = README.split("### Parity in your CI", 1)[1].split("\n### ", 1)[0]
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.S)]
    github = [b for b in blocks if "jobs" in b]
    gitlab = [b for b in blocks if "jobs" not in b]
    assert len(blocks) == 2 and len(github) == len(gitlab) == 1, blocks
    return github[0], gitlab[0]


def edgeseq_lines(commands: list[str]) -> list[str]:
    return [line.strip() for command in commands for line in command.splitlines() if line.strip().startswith("edgeseq ")]


def test_the_ci_jobs_have_the_shape_their_ci_reads():
    github, gitlab = ci_jobs()
    # PyYAML reads GitHub's `on:` as the YAML 1.1 boolean true
    assert set(github.get("on", github.get(True))) == {"push", "pull_request"}
    (job,) = github["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest" and job["permissions"]["checks"] == "write"
    uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/upload-artifact",
                    "mikepenz/action-junit-report"]
    published = {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}
    assert published["actions/upload-artifact"]["with"]["path"] == "parity.xml"
    assert published["mikepenz/action-junit-report"]["with"]["report_paths"] == "parity.xml"
    assert all("cancelled()" in published[name]["if"] for name in ("actions/upload-artifact", "mikepenz/action-junit-report"))
    (lab,) = gitlab.values()
    assert lab["artifacts"]["reports"]["junit"] == "parity.xml" and lab["artifacts"]["when"] == "always"
    # both install the runtime-only extra (no TensorFlow) before they validate
    runs = [step["run"] for step in job["steps"] if "run" in step]
    for commands in (runs, lab["script"]):
        assert commands[0] == "pip install 'edgeseq[runtime]'", commands
        assert edgeseq_lines(commands) and commands.index(edgeseq_lines(commands)[0]) > 0


def test_the_ci_jobs_run_the_same_gate_and_it_holds(tmp_path, without_tensorflow):
    """The two jobs' edgeseq lines are the same; run in a folder holding a copy of models/lstm's deployable files
    and golden outputs (no fp32 file, no Keras model, no TensorFlow: as on the CI runner), they exit 0 and write
    a JUnit report the schema accepts, every file checked against its golden outputs."""
    import xml.etree.ElementTree as ET

    from junit_schema import junit_schema

    github, gitlab = ci_jobs()
    (job,) = github["jobs"].values()
    (lab,) = gitlab.values()
    lines = edgeseq_lines([step["run"] for step in job["steps"] if "run" in step])
    assert lines == edgeseq_lines(lab["script"]) == ["edgeseq validate models --strict --junit-xml parity.xml"]
    source = REPO / "models" / "lstm"
    (tmp_path / "models" / "lstm").mkdir(parents=True)
    for name in ("lstm-dynamic.tflite", "lstm-dynamic.onnx", "lstm-int8.tflite", "lstm-fp16.tflite"):
        for path in (source / name, source / f"{name}.json"):
            shutil.copy(path, tmp_path / "models" / "lstm")
    shutil.copy(source / "lstm.golden.npz", tmp_path / "models" / "lstm")
    for line in lines:
        done = run_cli(*shlex.split(line)[1:], cwd=tmp_path, env=without_tensorflow)
        assert done.returncode == 0, done.stderr
    report = tmp_path / "parity.xml"
    assert list(junit_schema().iter_errors(report.read_text(encoding="utf-8"))) == []
    cases = list(ET.parse(report).getroot().iter("testcase"))
    assert len(cases) >= 4 and all(len(case) == 1 and case[0].tag == "system-out" for case in cases)   # all pass
    assert all("reference: golden outputs models/lstm/lstm.golden.npz" in case[0].text for case in cases)
