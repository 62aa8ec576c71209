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


def test_serving_and_testing_use_separate_environments() -> None:
    """The tests reinstall the package editable; in the serving environment that would remove
    the installed templates from under a running service."""
    serve, test = _commands()
    serve_env = serve.split("python3 -m venv ", 1)[1].split()[0]
    test_env = test.split("python3 -m venv ", 1)[1].split()[0]
    assert serve_env != test_env
    assert f"{serve_env}/bin/meshkg serve" in serve
    assert f"{test_env}/bin/pytest" in test
    assert " -e " not in serve


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8").strip().splitlines()
    assert ci[-1].strip() == _commands()[1]


def test_every_cli_command_is_documented() -> None:
    from app.cli import cli

    readme = (ROOT / "README.md").read_text("utf-8")
    for command in cli.registered_commands:
        assert f"meshkg {command.name}" in readme, command.name
