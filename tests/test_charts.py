"""The server-drawn SVG: well-formed, safe with hostile text, deterministic, laid out cleanly."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.charts import (
    SATURATION_MAX_BARS,
    SVG_NS,
    TOOLTIP_MAX,
    Edge,
    Node,
    bar_chart,
    clean,
    decision_diagram,
    nice_ticks,
    safe_href,
    saturation_chart,
    wrap,
)

ROOT = Path(__file__).resolve().parents[1]
S = f"{{{SVG_NS}}}"
MB = 1024 * 1024
HOSTILE = (
    "<script>alert('x')</script> & \"quoted\" ]]> <!-- --> \x00\x07\x1b\x7f\x85\ud800\ufffe end"
)
SIGNS = ["++", "+", "o", "-", "--", "+/-"]


# --- helpers ---------------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{S}svg"
    return root


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def with_class(root: ET.Element, tag: str, name: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{S}{tag}") if name in classes(e)]


def group(root: ET.Element, name: str) -> ET.Element:
    (found,) = with_class(root, "g", name)
    return found


def all_text(element: ET.Element) -> str:
    return "".join(element.itertext())


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-key", ""): g for g in with_class(root, "g", "node")}


def child(element: ET.Element, path: str) -> ET.Element:
    """The first element at ``path`` (in the SVG namespace), which must be there."""
    found = element.find("/".join(f"{S}{step}" for step in path.split("/")))
    assert found is not None, path
    return found


def number(element: ET.Element, name: str) -> float:
    return float(element.get(name, "nan"))


def box(node: ET.Element) -> tuple[float, float, float, float]:
    (rect,) = node.findall(f"{S}rect")
    return number(rect, "x"), number(rect, "y"), number(rect, "width"), number(rect, "height")


def style(root: ET.Element) -> str:
    return child(root, "style").text or ""


def disjoint(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay


def diagram_case(
    n_options: int, n_forces: int, n_nexts: int = 3, per_option: int = 4
) -> tuple[Node, list[Node], list[Node], list[Node], list[Edge]]:
    """A decision with options impacting forces, deterministic and with every sign."""
    decision = Node("d", "How should the domains publish their data products?", href="/d/1")
    options = [
        Node(f"o{i}", f"Option {i}: a central catalogue fed by each domain", href=f"/o/{i}")
        for i in range(n_options)
    ]
    forces = [Node(f"f{i}", f"Force {i}: consumer trust", href=f"/f/{i}") for i in range(n_forces)]
    nexts = [Node(f"n{i}", f"Next decision {i}") for i in range(n_nexts)]
    edges = [Edge("d", o.key, label=f"option {i}") for i, o in enumerate(options)]
    for i, option in enumerate(options):
        for j in range(min(per_option, n_forces)):
            force = forces[(i * 7 + j * 5) % n_forces]
            edges.append(Edge(option.key, force.key, label=SIGNS[(i + j) % len(SIGNS)]))
        if nexts:
            edges.append(Edge(option.key, nexts[i % len(nexts)].key))
    return decision, options, forces, nexts, edges


def draw(n_options: int, n_forces: int, **kw: int) -> str:
    return decision_diagram(*diagram_case(n_options, n_forces, **kw), "Publishing data products")


def saturation_points(n: int) -> list[tuple[str, int, int]]:
    news = [max(0, 40 - i // 3) if i < 150 else i % 3 == 0 for i in range(n)]
    totals = list(itertools.accumulate(int(x) for x in news))
    return [(f"Source {i}", int(x), t) for i, (x, t) in enumerate(zip(news, totals, strict=True))]


# --- every picture: a well-formed, accessible, self-contained SVG ------------------------------

PICTURES: dict[str, Callable[[], str]] = {
    "diagram": lambda: draw(4, 6),
    "diagram-empty": lambda: decision_diagram(Node("d", "Alone"), [], [], [], [], "Alone"),
    "saturation": lambda: saturation_chart(saturation_points(30), "Saturation"),
    "saturation-empty": lambda: saturation_chart([], "Saturation"),
    "bars": lambda: bar_chart([("a", 3, "/a"), ("b", 1, None)], "Groundedness", "sources"),
    "bars-empty": lambda: bar_chart([], "Groundedness", "sources"),
}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_a_standalone_accessible_svg(name: str) -> None:
    svg = PICTURES[name]()
    assert svg.startswith("<svg")
    assert f'xmlns="{SVG_NS}"' in svg.split(">", 1)[0]
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label")
    width, height = number(root, "width"), number(root, "height")
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width > 0
    assert height > 0
    first = next(iter(root))
    assert first.tag == f"{S}title"
    assert first.text == root.get("aria-label")
    (style,) = root.iter(f"{S}style")
    rules = re.findall(r"([^{}]+)\{[^{}]*\}", style.text or "")
    assert rules
    # every selector is scoped to these pictures, so inline they restyle nothing else
    for rule in rules:
        for selector in rule.split(","):
            assert selector.strip().startswith("svg.mkc"), selector


def test_empty_inputs_say_so() -> None:
    assert "no sources" in all_text(parse(saturation_chart([], "t")))
    assert "no data" in all_text(parse(bar_chart([], "t", "sources")))
    root = parse(decision_diagram(Node("d", "Alone"), [], [], [], [], "t"))
    assert list(node_groups(root)) == ["d"]
    assert not list(group(root, "edges"))


# --- text and links ------------------------------------------------------------------------------


def test_clean_drops_what_xml_forbids_and_collapses_space() -> None:
    assert clean("a\x00b\x1fc\x7f\x9fd\ud800e\ufffef") == "abcdef"
    assert clean("  tab\tand\nnew\r\nline  ") == "tab and new line"
    assert clean("ünïcødé 数据 🙂") == "ünïcødé 数据 🙂"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "\x00javascript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "ftp://example.org/",
        "relative/path",
        " /leading-space",
        "/control\x01char",
        "",
    ],
)
def test_unsafe_hrefs_give_no_link(href: str) -> None:
    assert safe_href(href) is None
    decision = Node("d", "decision", href=href)
    options = [Node("o", "option", href=href)]
    svg = decision_diagram(decision, options, [], [], [Edge("d", "o")], "t")
    root = parse(svg)
    assert not list(root.iter(f"{S}a"))
    assert "javascript" not in svg.lower()
    bars = parse(bar_chart([("a", 1, href)], "t", "u"))
    assert not list(bars.iter(f"{S}a"))
    saturation = parse(saturation_chart([("a", 1, 1)], "t", href=lambda _: href))
    assert not list(saturation.iter(f"{S}a"))


@pytest.mark.parametrize(
    ("href", "kept"),
    [
        ("/codes/c1", "/codes/c1"),
        ("#top", "#top"),
        ("http://example.org/a?b=1&c=2", "http://example.org/a?b=1&c=2"),
        ("HTTPS://example.org/", "HTTPS://example.org/"),
        ("/sources/Blog post\tone", "/sources/Blog%20post%09one"),
    ],
)
def test_safe_hrefs_are_kept(href: str, kept: str) -> None:
    assert safe_href(href) == kept
    root = parse(bar_chart([("a", 1, href)], "t", "u"))
    assert [a.get("href") for a in root.iter(f"{S}a")] == [kept]


def test_hostile_labels_stay_text() -> None:
    decision = Node(HOSTILE, HOSTILE, href='/d?a=1&b="2"\'')
    options = [Node(f"o{i}", HOSTILE, kind="<b onload=x>", layer=HOSTILE) for i in range(3)]
    forces = [Node("f", HOSTILE)]
    edges = [Edge(HOSTILE, "o0", label=HOSTILE), Edge("o0", "f", label=HOSTILE, kind="'\"<>")]
    svgs = [
        decision_diagram(decision, options, forces, [], edges, HOSTILE),
        saturation_chart([(HOSTILE, 1, 1)] * 3, HOSTILE, href=lambda label: "/s/" + label),
        bar_chart([(HOSTILE, 2, "/c?x=<y>&z")], HOSTILE, HOSTILE),
    ]
    expected = clean(HOSTILE)
    assert "\x00" not in expected
    assert "<script>" in expected
    for svg in svgs:
        root = parse(svg)
        tags = {element.tag for element in root.iter()}
        assert f"{S}script" not in tags
        assert "script" not in {tag.rsplit("}", 1)[-1] for tag in tags}
        assert root.get("aria-label") == expected
        assert all(not tag.startswith("{") or tag.startswith(S) for tag in tags)
        for element in root.iter():
            for name in element.attrib:
                assert not name.startswith("on"), name
    diagram = parse(svgs[0])
    nodes = node_groups(diagram)
    assert child(nodes[expected], "title").text == expected
    assert [a.get("href") for a in diagram.iter(f"{S}a")] == ['/d?a=1&b="2"\'']
    # class tokens from free text are reduced to safe characters
    assert classes(nodes["o0"]) == {"node", "option", "b", "onload-x"}
    labels = with_class(diagram, "g", "edge-label")
    assert len(labels) == 2
    for label in labels:
        shown = all_text(label)
        assert shown.endswith("…")
        assert expected.startswith(shown[:-1])
        assert shown.startswith("<script>")


def test_long_labels_wrap_and_keep_their_full_text() -> None:
    long = "decentralised " * 40 + "end"
    huge = "x" * 200_000
    options = [Node("long", long), Node("huge", huge), Node("short", "short")]
    root = parse(decision_diagram(Node("d", "d"), options, [], [], [], "t"))
    nodes = node_groups(root)
    for key in ("long", "huge"):
        (text,) = nodes[key].findall(f"{S}text")
        lines = [all_text(span) for span in text.findall(f"{S}tspan")]
        assert 1 <= len(lines) <= 3
        assert lines[-1].endswith("…")
    assert child(nodes["long"], "title").text == long.strip()
    tooltip = child(nodes["huge"], "title").text or ""
    assert len(tooltip) == TOOLTIP_MAX
    assert tooltip.endswith("…")
    (short,) = nodes["short"].findall(f"{S}text")
    assert [all_text(span) for span in short] == ["short"]


def test_wrap() -> None:
    assert wrap("", 100, 12, 3) == ([], False)
    assert wrap("one two", 1000, 12, 3) == (["one two"], False)
    lines, cut = wrap("alpha beta gamma delta epsilon zeta eta theta", 60, 12, 2)
    assert cut
    assert len(lines) == 2
    assert lines[-1].endswith("…")
    assert lines[0] == "alpha"
    # a word wider than a line is broken rather than left to overflow
    lines, cut = wrap("x" * 50, 60, 12, 3)
    assert cut
    assert len(lines) == 3
    assert all(set(line) <= {"x", "…"} for line in lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    labels=st.lists(st.text(max_size=60), min_size=1, max_size=5),
    title=st.text(max_size=60),
    sign=st.text(max_size=4),
)
def test_any_text_gives_well_formed_svg(labels: list[str], title: str, sign: str) -> None:
    options = [
        Node(f"o{i}", label, href=label, kind=label, layer=label) for i, label in enumerate(labels)
    ]
    forces = [Node(f"f{i}", label) for i, label in enumerate(labels)]
    edges = [Edge("d", o.key, label=sign) for o in options]
    edges += [
        Edge(o.key, f.key, label=sign, kind=sign) for o, f in zip(options, forces, strict=True)
    ]
    diagram = parse(decision_diagram(Node("d", title), options, forces, [], edges, title))
    nodes = node_groups(diagram)
    for option in options:
        assert child(nodes[option.key], "title").text == (clean(option.label) or None)
    assert len(list(group(diagram, "edges"))) == len(edges)
    points = [(label, i, i) for i, label in enumerate(labels)]
    parse(saturation_chart(points, title, href=lambda label: label))
    bars = parse(bar_chart([(label, i, label) for i, label in enumerate(labels)], title, sign))
    assert len(list(group(bars, "rows"))) == len(labels)


# --- the decision diagram ------------------------------------------------------------------------


def test_diagram_counts_nodes_links_and_edges() -> None:
    decision, options, forces, nexts, edges = diagram_case(5, 7)
    forces = [*forces, Node("fj", "unsafe link", href="javascript:alert(1)")]
    invalid = [Edge("o0", "nowhere"), Edge("nowhere", "f0"), Edge("o1", "o1")]
    svg = decision_diagram(decision, options, forces, nexts, edges + invalid, "t")
    root = parse(svg)
    nodes = node_groups(root)
    assert len(nodes) == 1 + 5 + 8 + 3
    for node in nodes.values():
        assert len(node.findall(f"{S}rect")) == 1
        assert len(node.findall(f"{S}text")) == 1
        assert len(node.findall(f"{S}title")) == 1
    linked = [
        n for n in (decision, *options, *forces, *nexts) if n.href and "javascript" not in n.href
    ]
    links = list(root.iter(f"{S}a"))
    assert len(links) == len(linked)
    assert sorted(a.get("href", "") for a in links) == sorted(n.href or "" for n in linked)
    edge_groups = list(group(root, "edges"))
    assert len(edge_groups) == len(edges)
    for edge in edge_groups:
        assert len(edge.findall(f"{S}path")) == 1
        (path,) = edge.findall(f"{S}path")
        marker = re.fullmatch(r"url\(#([\w-]+)\)", path.get("marker-end", ""))
        assert marker
        assert root.find(f".//{S}marker[@id='{marker.group(1)}']") is not None
    labelled = [e for e in edges if e.label]
    assert len(list(group(root, "edge-labels"))) == len(labelled)


def test_no_node_or_edge_label_overlaps_in_a_12_by_15_diagram() -> None:
    root = parse(draw(12, 15, n_nexts=4, per_option=5))
    boxes = [box(node) for node in node_groups(root).values()]
    assert len(boxes) == 1 + 12 + 15 + 4
    for a, b in itertools.combinations(boxes, 2):
        assert disjoint(a, b), (a, b)
    canvas = (0.0, 0.0, number(root, "width"), number(root, "height"))
    for x, y, w, h in boxes:
        assert min(x, y) >= 0
        assert x + w <= canvas[2]
        assert y + h <= canvas[3]
    labels = [box(label) for label in group(root, "edge-labels")]
    assert len(labels) == 12 + 12 * 5
    for a, b in itertools.combinations(labels, 2):
        assert disjoint(a, b), (a, b)
    for label_box in labels:
        assert all(disjoint(label_box, node_box) for node_box in boxes)


def test_each_node_is_drawn_once_in_columns() -> None:
    decision, options, forces, nexts, edges = diagram_case(3, 4)
    # a repeated force, and an option that is also listed as a force
    root = parse(
        decision_diagram(decision, options, [*forces, forces[0], options[0]], nexts, edges, "t")
    )
    nodes = node_groups(root)
    assert len(nodes) == 1 + 3 + 4 + 3
    assert "option" in classes(nodes["o0"])
    xs = {
        role: {box(n)[0] for n in nodes.values() if role in classes(n)}
        for role in ("decision", "option", "force", "next")
    }
    assert all(len(column) == 1 for column in xs.values())
    assert min(xs["decision"]) < min(xs["option"]) < min(xs["force"])
    assert xs["force"] == xs["next"]
    lowest_force = max(box(n)[1] for n in nodes.values() if "force" in classes(n))
    assert all(box(n)[1] > lowest_force for n in nodes.values() if "next" in classes(n))


def test_barycentre_ordering_removes_avoidable_crossings() -> None:
    decision = Node("d", "d")
    options = [Node(f"o{i}", f"o{i}") for i in range(4)]
    forces = [Node(f"f{i}", f"f{i}") for i in range(4)]
    # each option impacts the force listed in the opposite position: all pairs cross as given
    edges = [Edge(f"o{i}", f"f{3 - i}", label="+") for i in range(4)]
    root = parse(decision_diagram(decision, options, forces, [], edges, "t"))
    nodes = node_groups(root)
    options_y = sorted((box(nodes[f"o{i}"])[1], i) for i in range(4))
    forces_y = sorted((box(nodes[f"f{i}"])[1], i) for i in range(4))
    pairs = {i: 3 - i for i in range(4)}
    # in the drawing each option sits at the same rank as the force it impacts
    for (_, option), (_, force) in zip(options_y, forces_y, strict=True):
        assert pairs[option] == force
    # no crossing to remove: the given order is kept
    straight = [Edge(f"o{i}", f"f{i}", label="+") for i in range(4)]
    nodes = node_groups(parse(decision_diagram(decision, options, forces, [], straight, "t")))
    for prefix in ("o", "f"):
        ys = [box(nodes[f"{prefix}{i}"])[1] for i in range(4)]
        assert ys == sorted(ys)


def _colour(css: str, selector: str) -> tuple[int, int, int]:
    found = re.search(re.escape(selector) + r"[^{]*\{stroke:#([0-9a-f]{6})\}", css)
    assert found, selector
    value = found.group(1)
    return int(value[:2], 16), int(value[2:4], 16), int(value[4:], 16)


def test_signs_are_classed_and_coloured() -> None:
    decision = Node("d", "d")
    options = [Node("o", "o")]
    forces = [Node(f"f{i}", f"f{i}") for i in range(len(SIGNS))]
    edges = [Edge("o", f"f{i}", label=sign) for i, sign in enumerate(SIGNS)]
    edges.append(Edge("o", "f0", label="+", kind="negative"))  # a given kind wins
    root = parse(decision_diagram(decision, options, forces, [], edges, "t"))
    found = [classes(g) - {"edge"} for g in group(root, "edges")]
    assert found == [
        {"positive", "strong"},
        {"positive"},
        {"neutral"},
        {"negative"},
        {"negative", "strong"},
        {"mixed"},
        {"negative"},
    ]
    css = style(root)
    red, green, blue = _colour(css, "svg.mkc .edge.positive path")
    assert green > max(red, blue)
    red, green, blue = _colour(css, "svg.mkc .edge.negative path")
    assert red > max(green, blue)
    red, green, blue = _colour(css, "svg.mkc .edge.mixed path")
    assert red > green > blue
    red, green, blue = _colour(css, "svg.mkc .edge.neutral path")
    assert max(red, green, blue) - min(red, green, blue) < 16
    legend = all_text(group(root, "legend"))
    for word in ("positive", "negative", "neutral", "mixed"):
        assert word in legend


def test_roles_give_edge_kinds_and_next_edges_are_dashed() -> None:
    decision, options, forces, nexts, edges = diagram_case(2, 2, n_nexts=1, per_option=0)
    root = parse(decision_diagram(decision, options, forces, nexts, edges, "t"))
    kinds = [classes(g) - {"edge"} for g in group(root, "edges")]
    assert kinds == [{"option"}, {"option"}, {"next"}, {"next"}]
    css = style(root)
    assert re.search(r"\.edge\.next path[^{]*\{stroke-dasharray", css)
    assert "leads to the next decision" in all_text(group(root, "legend"))


def test_layers_are_drawn_apart_and_explained() -> None:
    decision = Node("d", "d")
    options = [
        Node("m", "model", layer="model"),
        Node("n", "notes", layer="notes"),
        Node("b", "b", layer="both"),
    ]
    forces = [Node("f", "f")]
    edges = [
        Edge("m", "f", layer="model"),
        Edge("n", "f", layer="notes"),
        Edge("b", "f", layer="both"),
    ]
    root = parse(decision_diagram(decision, options, forces, [], edges, "t"))
    nodes = node_groups(root)
    assert "layer-model" in classes(nodes["m"])
    assert "layer-notes" in classes(nodes["n"])
    assert not {"layer-model", "layer-notes"} & classes(nodes["b"])
    assert [classes(g) - {"edge"} for g in group(root, "edges")] == [
        {"layer-model"},
        {"layer-notes"},
        set(),
    ]
    css = style(root)
    model = re.search(r"\.edge\.layer-model path[^{]*\{([^}]*)\}", css)
    notes = re.search(r"\.edge\.layer-notes path[^{]*\{([^}]*)\}", css)
    assert model
    assert notes
    assert "stroke-dasharray" in model.group(1)
    assert "stroke-linecap:round" in notes.group(1)
    legend = all_text(group(root, "legend"))
    assert "model only" in legend
    assert "notes only" in legend
    # nothing to explain, no legend
    plain = parse(decision_diagram(decision, [Node("o", "o")], [], [], [Edge("d", "o")], "t"))
    assert not with_class(plain, "g", "legend")


def test_a_50_by_40_diagram_stays_a_reasonable_size() -> None:
    svg = draw(50, 40, n_nexts=6, per_option=40)  # every option impacts every force
    assert len(svg.encode()) < 1.5 * MB
    root = parse(svg)
    assert len(node_groups(root)) == 1 + 50 + 40 + 6
    assert len(list(group(root, "edges"))) == 50 + 50 * 40 + 50


# --- the saturation chart ------------------------------------------------------------------------


def _left_axis(root: ET.Element) -> list[tuple[int, float]]:
    axis = group(root, "left")
    lines = [float(line.get("y1", "nan")) for line in axis.findall(f"{S}line")]
    values = [int((text.text or "").replace(",", "")) for text in axis.findall(f"{S}text")]
    return list(zip(values, lines, strict=True))


def _polyline(root: ET.Element) -> list[tuple[float, float]]:
    (line,) = with_class(root, "polyline", "cumulative")
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]


@pytest.mark.parametrize("n", [1, 7, 60, 999, 1000])
def test_saturation_has_one_bar_and_point_per_source(n: int) -> None:
    points = saturation_points(n)
    root = parse(saturation_chart(points, "t", href=lambda label: f"/sources/{label}"))
    bars = with_class(root, "rect", "bar")
    assert len(bars) == n + 1  # and the legend's sample
    assert len(list(root.iter(f"{S}a"))) == n
    line = _polyline(root)
    assert len(line) == n
    xs = [x for x, _ in line]
    assert xs == sorted(xs)
    ticks = _left_axis(root)
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    assert v0 == 0
    assert v1 >= max(t for _, _, t in points)
    top = max(t for _, _, t in points)
    expected = y0 + (top - v0) / (v1 - v0) * (y1 - y0)
    assert line[-1][1] == pytest.approx(expected, abs=0.06)
    assert line[-1][1] == min(y for _, y in line)
    shown = with_class(root, "text", "xlabel")
    assert 1 <= len(shown) <= 40


def test_saturation_aggregates_past_the_bar_limit() -> None:
    n = 10_000
    points = saturation_points(n)
    svg = saturation_chart(points, "t", href=lambda label: f"/sources/{label}")
    assert len(svg.encode()) < 1.5 * MB
    root = parse(svg)
    per_bar = -(-n // SATURATION_MAX_BARS)
    line = _polyline(root)
    assert len(line) == -(-n // per_bar)
    assert len(with_class(root, "rect", "bar")) - 1 == len(line)
    assert not list(root.iter(f"{S}a"))  # a bar for several sources links to none of them
    first = group(root, "bars").find(f"{S}rect/{S}title")
    assert first is not None
    assert f"({per_bar} sources)" in (first.text or "")
    assert f"{per_bar} per bar" in all_text(root)
    ticks = _left_axis(root)
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    expected = y0 + points[-1][2] / (v1 - v0) * (y1 - y0)
    assert line[-1][1] == pytest.approx(expected, abs=0.06)
    assert len(with_class(root, "text", "xlabel")) <= 40


def test_saturation_labels_slant_only_when_crowded() -> None:
    few = parse(saturation_chart([("a", 1, 1), ("b", 1, 2)], "t"))
    assert all("transform" not in t.attrib for t in with_class(few, "text", "xlabel"))
    crowded = parse(saturation_chart(saturation_points(200), "t"))
    labels = with_class(crowded, "text", "xlabel")
    assert labels
    assert all("rotate(-45" in t.get("transform", "") for t in labels)


# --- the bar chart -------------------------------------------------------------------------------


def test_bar_chart_rows_values_and_links() -> None:
    items = [("code a", 12, "/codes/a"), ("code b", 0, None), ("code c", 1_234, "/codes/c")]
    root = parse(bar_chart(items, "Groundedness", "sources"))
    rows = with_class(root, "g", "row")
    assert len(rows) == 3
    texts = [[all_text(text) for text in row.findall(f"{S}text")] for row in rows]
    assert texts == [["code a", "12"], ["code b", "0"], ["code c", "1,234"]]
    assert [a.get("href") for a in root.iter(f"{S}a")] == ["/codes/a", "/codes/c"]
    widths = [number(child(row, "rect"), "width") for row in rows]
    assert widths[1] == 0
    assert widths[0] == pytest.approx(widths[2] * 12 / 1_234, abs=0.1)
    ys = [number(child(row, "rect"), "y") for row in rows]
    assert ys == sorted(ys)  # in the order given
    assert "sources" in all_text(group(root, "axis"))


def test_a_bar_chart_of_2000_rows() -> None:
    items: list[tuple[str, int, str | None]] = [
        (f"code {i}", 2_000 - i, f"/codes/{i}") for i in range(2_000)
    ]
    svg = bar_chart(items, "t", "sources")
    assert len(svg.encode()) < 1.5 * MB
    root = parse(svg)
    assert len(with_class(root, "g", "row")) == 2_000
    assert len(list(root.iter(f"{S}a"))) == 2_000


def test_negative_and_zero_values_draw_nothing_below_the_axis() -> None:
    root = parse(bar_chart([("a", -5, None), ("b", 0, None)], "t", "u"))
    widths = [number(child(row, "rect"), "width") for row in with_class(root, "g", "row")]
    assert widths == [0, 0]
    assert [all_text(t) for t in with_class(root, "text", "value")] == ["-5", "0"]
    chart = parse(saturation_chart([("a", -2, -2), ("b", 0, 0)], "t"))
    (_, y0), _ = _left_axis(chart)[0], _left_axis(chart)[-1]
    assert all(y == y0 for _, y in _polyline(chart))
    for bar in with_class(group(chart, "bars"), "rect", "bar"):
        assert number(bar, "height") == 0


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (23, [0, 5, 10, 15, 20, 25]),
        (2_000, [0, 500, 1_000, 1_500, 2_000]),
        (-4, [0, 1]),
    ],
)
def test_nice_ticks(maximum: int, ticks: list[int]) -> None:
    assert nice_ticks(maximum) == ticks


@given(st.integers(min_value=0, max_value=10**9))
def test_nice_ticks_are_round_and_cover(maximum: int) -> None:
    ticks = nice_ticks(maximum)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0
    assert ticks[-1] >= maximum
    assert ticks[-2] < max(maximum, 1)
    assert all(b - a == step for a, b in itertools.pairwise(ticks))
    assert re.fullmatch(r"[125]0*", str(step))
    assert len(ticks) <= 12


# --- same input, same bytes ------------------------------------------------------------------

_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from tests.test_charts import bar_chart, draw, saturation_chart, saturation_points
svgs = [draw(12, 15, n_nexts=4, per_option=5), saturation_chart(saturation_points(120), "t"),
        bar_chart([("a", 3, "/a"), ("b", 5, None)], "t", "u")]
print(hashlib.sha256("".join(svgs).encode()).hexdigest())
"""


def test_same_input_same_bytes() -> None:
    for make in PICTURES.values():
        assert make() == make()
    assert draw(12, 15) == draw(12, 15)
    # also across processes, where string hashing (and so set order) differs
    digests = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(ROOT)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_arrowhead_ids_differ_between_diagrams() -> None:
    one = parse(draw(2, 2))
    two = parse(draw(3, 2))
    ids_one = {m.get("id") for m in one.iter(f"{S}marker")}
    ids_two = {m.get("id") for m in two.iter(f"{S}marker")}
    assert ids_one
    assert not ids_one & ids_two
