"""The manual (docs/, mkdocs.yml) builds without a warning, and its command-line reference is what the
commands say now. What the pages claim about commands and options is checked in test_readme.py."""

import importlib.util
import subprocess
import sys

import yaml

from edgeseq.cli import cli

from conftest import REPO

DOCS = REPO / "docs"


def cli_reference():
    """tools/cli_reference.py, imported from its path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("cli_reference", REPO / "tools" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_is_current():
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert page == cli_reference().render(), "stale: run `python tools/cli_reference.py`, commit docs/cli.md"


def test_the_cli_reference_has_every_command_and_option():
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert f"## edgeseq {name}\n" in page, name
        section = page.split(f"## edgeseq {name}\n", 1)[1].split("\n## ", 1)[0]
        for param in (p for p in command.params if p.param_type_name == "option" and not p.hidden):
            for opt in param.opts:
                assert f"`{opt}" in section or f", {opt}" in section, f"{name} {opt}"
        for sub_name, sub in getattr(command, "commands", {}).items():          # a group's subcommands
            assert f"### edgeseq {name} {sub_name}\n" in section, f"{name} {sub_name}"
            sub_section = section.split(f"### edgeseq {name} {sub_name}\n", 1)[1].split("\n### ", 1)[0]
            for param in (p for p in sub.params if p.param_type_name == "option" and not p.hidden):
                assert any(f"`{opt}" in sub_section for opt in param.opts), f"{name} {sub_name} {param.opts}"


def test_the_cli_reference_check_fails_on_a_stale_page(tmp_path):
    stale = tmp_path / "cli.md"
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    stale.write_text(page.replace("## edgeseq bench", "## edgeseq benchmark"))
    tool = REPO / "tools" / "cli_reference.py"
    done = subprocess.run([sys.executable, str(tool), "--check", "--out", str(stale)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1 and "is not current" in done.stderr, done.stderr


def nav_pages(entries) -> set[str]:
    found = set()
    for entry in entries:
        for value in (entry.values() if isinstance(entry, dict) else [entry]):
            found |= nav_pages(value) if isinstance(value, list) else {value}
    return found


def test_every_page_written_by_hand_is_in_the_navigation():
    nav = nav_pages(yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
             if p.relative_to(DOCS).parts[0] not in ("results", "report")}
    assert pages - nav == set(), "add these pages to mkdocs.yml's nav"
    assert {page for page in nav if not (DOCS / page).exists()} == set()


def test_the_manual_builds_strictly(tmp_path):
    """`mkdocs build --strict`, as CI runs it (about a second: not slow): a broken link, a link to a missing
    heading or any other warning fails the build."""
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(REPO / "mkdocs.yml"), "--site-dir", str(site)],
                          capture_output=True, text=True, check=False, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    for page in ("index.html", "cli.html", "guide-ci.html", "ref-manifest.html", "report/report.html"):
        assert (site / page).is_file(), page
