"""The README stays true: its set-up lines come first, and every `edgeseq` command it shows uses real options."""

import re
import shlex

import pytest
from click.testing import CliRunner

from edgeseq.cli import cli

from conftest import REPO

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
