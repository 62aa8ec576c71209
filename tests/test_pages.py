"""Pages in a real headless Chromium: they render, run queries, link locally, fetch nothing else.

Driven by Playwright with the system's Chromium (``/usr/bin/chromium``, Debian package
``chromium``, which ``.ci/run`` installs). Every request the browser makes is recorded: a page
that reaches past 127.0.0.1 (a CDN, a font service) fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import CHROMIUM, watched_page

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


@pytest.fixture
def page(browser: playwright.Browser, fixture_server: str) -> Iterator[playwright.Page]:
    with watched_page(browser, fixture_server) as found:
        yield found


def test_api_docs_render_every_operation(page: playwright.Page, fixture_server: str) -> None:
    page.goto(fixture_server + "/docs")
    page.wait_for_selector(".opblock")
    operations = page.locator(".opblock").count()
    assert operations >= 10
    assert page.locator("text=/sparql").first.is_visible()


def test_query_page_runs_a_query_with_local_links(
    page: playwright.Page, fixture_server: str
) -> None:
    page.goto(fixture_server + "/sparql")
    query = (
        "PREFIX mk: <https://w3id.org/meshkg/ontology#>\n"
        "SELECT ?practice WHERE { ?practice a mk:Practice } ORDER BY ?practice LIMIT 3"
    )
    page.fill("#query", query)
    page.click("button[type=submit]")
    page.wait_for_selector("#result table")
    assert page.locator("#result tbody tr").count() == 3
    link = page.locator("#result tbody a").first
    href = link.get_attribute("href") or ""
    assert href.startswith("/meshkg/id/"), href  # this service's page, not w3id.org
    assert (link.get_attribute("title") or "").startswith("https://w3id.org/meshkg/id/")
    # the address bar names the query: the page can be shared
    shared = page.url
    assert parse_qs(urlsplit(shared).query)["query"] == [query]
    link.click()
    page.wait_for_load_state()
    assert page.url.startswith(fixture_server + "/meshkg/id/")
    assert page.locator("h1").count() == 1


def test_a_shared_query_link_opens_the_page_and_runs(
    page: playwright.Page, fixture_server: str
) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    page.goto(fixture_server + "/sparql?" + _encode(query))
    page.wait_for_selector("#result table")
    assert page.input_value("#query") == query
    assert int(page.locator("#result tbody td").first.inner_text()) > 100


def test_home_and_resource_pages_render(page: playwright.Page, fixture_server: str) -> None:
    page.goto(fixture_server + "/")
    collection = page.locator("a", has_text="my study #1 %é").first
    collection.click()
    page.wait_for_load_state()
    assert "my%20study%20%231%20%25" in page.url
    assert page.locator("h1").inner_text().strip() != ""


def _encode(query: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"query": query})
