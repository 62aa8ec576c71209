"""Shared fixtures: the project's paths, the shared corpus (read in place, never copied), and
the study written for the tests (``tests/fixtures/study``), which needs nothing from outside."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.pipeline import Build, build, check
from app.validate import Report
from tests.canary import Canary

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
USER_SEED = SHARED / "seeds" / "000_15eeaea9ef02ddc7.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
STUDY = FIXTURES / "study"


def _need(path: Path) -> Path:
    if path.exists():
        return path
    message = f"{path} is absent: the golden tests read the shared corpus from ../shared"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must provide it)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return _need(CORPUS)


@pytest.fixture(scope="session")
def user_seed() -> Path:
    return _need(USER_SEED)


@pytest.fixture(scope="session")
def corpus_build(corpus_dir: Path) -> Build:
    return build([corpus_dir])


@pytest.fixture(scope="session")
def corpus_report(corpus_build: Build) -> Report:
    return check(corpus_build)


@pytest.fixture(scope="session")
def canary() -> Iterator[Canary]:
    """A server on 127.0.0.1 counting every connection made to it (``tests/canary.py``)."""
    found = Canary()
    try:
        yield found
    finally:
        found.close()


@pytest.fixture(scope="session")
def corpus_server(corpus_dir: Path) -> Iterator[str]:
    """The service over the shared corpus, with a short time limit for the limit tests."""
    from tests.server import running

    with running([corpus_dir], "--query-timeout", "3") as url:
        yield url


@pytest.fixture(scope="session")
def fixture_server() -> Iterator[str]:
    """The service over small collections in ``tests/fixtures``, one with an awkward name."""
    from tests.server import running

    with running([FIXTURES / "names" / "my study #1 %é", FIXTURES / "notes" / "platform"]) as url:
        yield url


@pytest.fixture(scope="session")
def views_server() -> Iterator[str]:
    """The service over the study and its consolidated model (both layers): what the research
    views are tested on."""
    from tests.server import running

    with running([STUDY, FIXTURES / "models" / "study"]) as url:
        yield url


@pytest.fixture(scope="session")
def study_dir() -> Path:
    """A small study in the real seed format, one collection named ``study``: seven notes with
    sources of several types, quotes, every kind of code, impacts of every level, decisions with
    options, dependencies, a set-aside code and an unresolved reference (its README lists them)."""
    return STUDY


@pytest.fixture(scope="session")
def study_build(study_dir: Path) -> Build:
    return build([study_dir])


@pytest.fixture(scope="session")
def study_server(study_dir: Path) -> Iterator[str]:
    """The service over the study, with a short time limit like ``corpus_server``."""
    from tests.server import running

    with running([study_dir], "--query-timeout", "3") as url:
        yield url


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's Chromium, which ``.ci/run`` installs; page tests skip without it."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright, one per test module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    with sync_api.sync_playwright() as p:
        found = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            yield found
        finally:
            found.close()


PAGE_TIMEOUT_MS = 20_000


@contextmanager
def watched_page(browser: Any, server: str, **context: Any) -> Iterator[Any]:
    """A page whose every request and script error is recorded; on leaving, none may have
    gone past ``server`` (no CDN, no fonts) and no script may have failed."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    outside: list[str] = []
    errors: list[str] = []
    host = urlsplit(server).netloc

    def record(request: Any) -> None:
        if urlsplit(request.url).netloc != host and not request.url.startswith("data:"):
            outside.append(request.url)

    page.on("request", record)
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        yield page
    finally:
        ctx.close()
    assert outside == []
    assert errors == []
