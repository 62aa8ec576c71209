"""The research views in a real headless Chromium, followed as a researcher would.

Open the overview, go to a decision, switch the evidence semantics, follow a matrix cell to its
quotes, rank options for chosen forces, run an example query and follow a result to its page.
Every request the browser makes must go to the service on 127.0.0.1, and no script may fail.
Screenshots of the main pages are written to ``screenshots/`` (the README names it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import ROOT, watched_page

SHOTS = ROOT / "screenshots"


@pytest.fixture
def page(browser: Any, views_server: str) -> Iterator[Any]:
    with watched_page(browser, views_server, viewport={"width": 1280, "height": 900}) as found:
        yield found


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def params(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_from_the_overview_to_a_decision_and_its_evidence(page: Any, views_server: str) -> None:
    page.goto(views_server + "/")
    page.locator("a", has_text="Event streams between teams").first.click()
    page.wait_for_selector("#code-counts")
    assert page.locator("h1").inner_text().startswith("Event streams between teams")
    shot(page, "overview")

    page.locator("nav.tabs a", has_text="Decisions").click()
    page.wait_for_selector("section.decision")
    assert page.locator("section.decision").count() == 3
    page.locator("section.decision h2 a", has_text="Which delivery guarantee").click()
    page.wait_for_selector("figure.diagram svg")
    diagram = page.locator("figure.diagram svg")
    assert diagram.locator("a").count() >= 4  # the decision, its options and forces link
    shot(page, "decision")

    # statement evidence: the sources stating each sign; code evidence: those coding both ends
    row = page.locator("tr", has_text="Exactly-once transactions").first
    stated = row.locator("ul.signs li").first.inner_text()
    page.select_option("select[name=evidence]", "code")
    page.locator("form.controls button").click()
    page.wait_for_load_state()
    assert params(page)["evidence"] == ["code"]
    assert page.locator("select[name=evidence]").input_value() == "code"
    body = page.request.get(page.url.replace("?", ".json?", 1)).json()
    option = next(o for o in body["decisions"][0]["options"] if o["option"]["id"] == "exactly_once")
    shown = page.locator("tr", has_text="Exactly-once transactions").first
    first = shown.locator("ul.signs li").first.inner_text()
    ids = [x["id"] for x in option["signs"][0]["sources"]]
    assert all(i in first for i in ids)
    assert stated  # the statement view named its sources too

    # a sign's quotes
    shown.locator("a.cell").first.click()
    page.wait_for_selector("ol.quotes")
    assert page.locator("ol.quotes blockquote").count() >= 1


def test_a_matrix_cell_opens_the_quotes_behind_it(page: Any, views_server: str) -> None:
    page.goto(views_server + "/views/study/impacts")
    page.wait_for_selector("#impact-matrix")
    shot(page, "impacts")
    cell = page.locator(
        "#impact-matrix a.cell[href*='solution=at_least_once'][href*='force=latency']"
    )
    cell.click()
    page.wait_for_selector("ol.quotes")
    assert params(page)["solution"] == ["at_least_once"]
    texts = page.locator("ol.quotes blockquote").all_inner_texts()
    assert texts  # the passages the impact was coded on
    shot(page, "quotes")
    # the codes x sources matrix drills down the same way
    page.goto(views_server + "/views/study/coding?sort=sources")
    page.locator("#coding-matrix a.cell").first.click()
    page.wait_for_selector("ol.quotes")
    assert "code" in params(page)


def test_ranking_options_for_chosen_forces(page: Any, views_server: str) -> None:
    page.goto(views_server + "/views/study/guidance")
    page.select_option("select[data-force=latency]", "latency:2")
    page.select_option("select[data-force=complexity]", "complexity:-1")
    page.locator("#guidance-form button").click()
    page.wait_for_selector("section.ranking")
    assert sorted(params(page)["force"]) == ["complexity:-1", "latency:2"]
    section = page.locator("section.ranking", has_text="Which delivery guarantee")
    ranked = section.locator("ol.ranked > li > strong").all_inner_texts()
    assert ranked[0] == "At-least-once delivery"
    assert ranked[-1] == "Exactly-once transactions"
    assert "Ranking rule" in page.locator("p.rule").inner_text()
    shot(page, "guidance")


def test_an_example_query_runs_and_its_results_open_local_pages(
    page: Any, views_server: str
) -> None:
    page.goto(views_server + "/sparql")
    page.locator("#examples a[data-example=impacts]").click()
    page.wait_for_selector("#result table")
    assert page.locator("#result tbody tr").count() > 5
    assert "query" in params(page)  # a link that can be shared
    shot(page, "query")
    link = page.locator("#result tbody a").first
    assert (link.get_attribute("href") or "").startswith("/meshkg/id/")
    link.click()
    page.wait_for_load_state()
    assert page.url.startswith(views_server + "/meshkg/id/study/")
    assert page.locator("h1").count() == 1


def test_analytics_and_search_render(page: Any, views_server: str) -> None:
    page.goto(views_server + "/views/study/analytics")
    page.wait_for_selector("#saturation svg")
    assert page.locator("#saturation svg").count() == 1
    assert page.locator("#single-source tbody tr").count() >= 1
    shot(page, "analytics")
    page.fill("header form.search input", "schema")
    page.keyboard.press("Enter")
    page.wait_for_selector("ol.hits")
    assert page.locator("ol.hits li.hit").count() >= 2
