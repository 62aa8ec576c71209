"""The README's first lines give two commands that work; CI runs the second one verbatim."""

from __future__ import annotations

from tests.conftest import ROOT


def _commands() -> list[str]:
    lines = (ROOT / "README.md").read_text("utf-8").splitlines()[:8]
    return [line.strip() for line in lines if line.startswith("    ")]


def test_readme_opens_with_two_commands() -> None:
    serve, test = _commands()
    assert "meshkg serve seeds" in serve
    assert "pip install" in serve
    assert "pytest" in test
    assert "pip install" in test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8").strip().splitlines()
    assert ci[-1].strip() == _commands()[1]


def test_every_cli_command_is_documented() -> None:
    from app.cli import cli

    readme = (ROOT / "README.md").read_text("utf-8")
    for command in cli.registered_commands:
        assert f"meshkg {command.name}" in readme, command.name
