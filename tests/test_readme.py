"""The README and the manual stay true: the README's set-up lines come first, every `edgeseq` command the
README or a docs page shows uses real options, every command is in the README's tour and in the reference,
every relative link of the README resolves (MkDocs checks the docs pages' own: tests/test_docs.py), and the CI
guide's jobs run."""

import re
import shlex
import shutil

import pytest
from click.testing import CliRunner

from edgeseq.cli import cli

from conftest import REPO, run_cli

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
# the pages written by hand: not the measured results (docs/results, docs/report), not docs/cli.md (generated)
MANUAL = sorted(p for p in DOCS.rglob("*.md")
                if p.relative_to(DOCS).parts[0] not in ("results", "report") and p != DOCS / "cli.md")
CI_GUIDE = DOCS / "guide-ci.md"
TEXTS = {"README.md": README, **{str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in MANUAL}}
BASH_BLOCKS = [block for text in TEXTS.values()
               for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]
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


def test_the_manual_is_there():
    assert len(MANUAL) >= 15 and CI_GUIDE in MANUAL and len(COMMAND_LINES) > 50, (MANUAL, len(COMMAND_LINES))
    assert len(README.splitlines()) < 200, "the README is the front door: the rest goes into docs/"


def test_every_command_is_documented():
    reference = "\n".join(TEXTS[name] for name in TEXTS if name.startswith("docs/ref-"))
    for name in cli.commands:
        assert f"edgeseq {name}" in README, name        # the tour, one line each
        assert f"edgeseq {name}" in reference, name     # and what it does in detail


def test_the_readme_links_resolve():
    """The README is not part of the MkDocs site, so its links are checked here: every relative one names a
    file of the checkout, and an anchor into a docs page names one of its headings."""
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if re.match(r"[a-z]+://", link):
            continue
        path, _, anchor = link.partition("#")
        target = REPO / path
        assert target.exists(), link
        if anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(encoding="utf-8"), flags=re.M)
            slugs = {re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", h).strip().lower()) for h in headings}
            assert anchor in slugs, link


# --- docs/guide-ci.md, "Parity in your CI": the GitHub Actions and GitLab CI jobs ------------------------


def ci_jobs() -> tuple[dict, dict]:
    """The GitHub workflow and the GitLab pipeline of the CI guide, parsed."""
    import yaml

    section = CI_GUIDE.read_text(encoding="utf-8")
    assert section.startswith("# Parity in your CI")
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
    # both install the runtime-only extra (no TensorFlow) from the wheel the guide builds (nothing publishes
    # edgeseq yet; the suite's runtime venv is made the same way: conftest.venv_with) before they validate
    runs = [step["run"] for step in job["steps"] if "run" in step]
    for commands in (runs, lab["script"]):
        assert commands[0].split("#")[0].strip() == 'pip install "$(ls wheels/edgeseq-*.whl)[runtime]"', commands
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
