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


def test_every_module_the_program_imports_is_a_runtime_dependency() -> None:
    """The README's serve command installs the package without its extras: every third-party
    module ``app/`` imports must come from a distribution ``pyproject.toml`` depends on."""
    import ast
    import re
    import sys
    import tomllib
    from importlib.metadata import PackageNotFoundError, packages_distributions, requires

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    # what the declared distributions bring with them is installed too
    pending = list(declared)
    while pending:
        try:
            found = requires(pending.pop()) or []
        except PackageNotFoundError:  # a dependency for another platform, not installed here
            continue
        for req in found:
            if "extra ==" in req:
                continue
            name = re.split(r"[<>=!~;\[ (]", req, maxsplit=1)[0].lower()
            if name not in declared:
                declared.add(name)
                pending.append(name)
    owners = packages_distributions()
    missing = {}
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top == "app" or top in sys.stdlib_module_names:
                    continue
                dists = {d.lower().replace("_", "-") for d in owners.get(top, [top])}
                if not dists & {d.replace("_", "-") for d in declared}:
                    missing[top] = str(path.relative_to(ROOT))
    assert missing == {}
