"""The docs are kept honest by tests: settings, commands and the quick start."""

import argparse
import re
from pathlib import Path

from potok.cli import build_parser
from potok.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_every_setting_is_in_the_readme_with_its_default():
    for setting in SETTINGS:
        row = re.search(rf"^\| `{setting.name}` \| (.+?) \|", README, flags=re.M)
        assert row, f"{setting.name} is missing from the README's settings table"
        if setting.default and not setting.secret:
            assert setting.default.strip("./") in row.group(1), setting.name


def _commands(parser: argparse.ArgumentParser, prefix: str = "potok") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _commands(sub, f"{prefix} {name}")
                found.extend(nested or [f"{prefix} {name}"])
    return found


def test_every_command_is_in_the_readme():
    commands = _commands(build_parser())
    assert "potok user create" in commands
    for command in commands:
        assert f"`{command}" in README, f"{command} is missing from the README"


def test_the_quick_start_is_two_commands_and_ci_runs_the_second():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [block.strip() for block in shell_blocks(quick_start)]
    assert len(blocks) == 2
    assert all("\n" not in block for block in blocks)
    serve, test = blocks
    assert "potok serve" in serve and "POTOK_ADMIN_PASSWORD=" in serve
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines(), "the CI must run the README's test command verbatim"
    assert "POTOK_TEST_DATABASE_URL" in ci and "POTOK_REQUIRE_BROWSER=1" in ci


def test_the_changelog_has_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog


def test_vendored_front_end_files_carry_version_and_licence():
    vendor = ROOT / "potok" / "platform" / "static" / "vendor"
    libraries = [path for path in vendor.iterdir() if path.is_dir()]
    assert libraries
    for library in libraries:
        assert (library / "LICENSE").is_file(), library.name
        assert re.search(r"\d+\.\d+", (library / "VERSION").read_text()), library.name
