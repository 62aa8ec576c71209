"""A study's model files bound into one layer: names across files, order, findings.

The files of a consolidated model import each other (``sources_and_codes_model.py`` starts
with ``from …<study>_model import *``) and run in that order when the model is built, so the
order of creation, which the study's artefacts follow, is the order of the files as their
imports run them, then of the statements in each. A name means the class it was last bound
to before it is used, as in Python; each layer resource is named by its Python name, the
identifier the notes use for the same code.

Findings here need the whole layer: a name redefined (the later definition wins), a name
defined nowhere, a link written twice (the real library refuses the second), a list of codes
defined but never linked, an import of a package that is neither a file of the layer nor the
modelling library.
"""

from __future__ import annotations

import dataclasses

from app.model import (
    Collection,
    Diagnostic,
    LinkKind,
    ModelClass,
    ModelFile,
    ModelLayer,
    ModelLink,
    ModelView,
    Severity,
)

LIBRARY_PACKAGES = ("codeable_models", "metamodels", "plant_uml_renderer", "codeable_model")
"""Packages of the modelling library and its metamodels: their names are the metamodel's."""


def bind(files: list[ModelFile]) -> ModelLayer:
    """The layer of ``files``; pure: same files in, same layer out."""
    layer = ModelLayer()
    layer.files = _run_order(files)
    external: set[str] = set()
    for f in layer.files:
        external |= _check_imports(f, layer)
    order = 0
    final: dict[str, ModelClass] = {}
    lists: dict[str, tuple[tuple[str, ...], str, int]] = {}
    raw_links: list[ModelLink] = []
    for f in layer.files:
        events: list[tuple[int, ModelClass | ModelLink | ModelView]] = [
            *((c.order, c) for c in f.classes),
            *((lk.order, lk) for lk in f.links),
            *((v.order, v) for v in f.views),
        ]
        for _, event in sorted(events, key=lambda e: e[0]):
            order += 1
            if isinstance(event, ModelClass):
                item = dataclasses.replace(event, order=order)
                before = final.get(item.name)
                if before is not None:
                    layer.diagnostics.append(
                        Diagnostic(
                            Severity.WARNING,
                            "redefined",
                            item.at.file,
                            item.at.line,
                            f"{item.name} is defined again (first at {before.at.file}:"
                            f"{before.at.line}); the later definition wins",
                        )
                    )
                final[item.name] = item
                layer.classes.append(item)
            elif isinstance(event, ModelView):
                layer.views.append(_bind_view(event, order, f, final, layer))
            else:
                raw_links.append(dataclasses.replace(event, order=order))
        for name, (items, line) in f.lists.items():
            lists[name] = (items, f.file, line)
    layer.final = final
    redefined = {c.name for c in layer.classes if final[c.name] is not c}
    linked_lists: set[str] = set()
    seen: dict[tuple[object, ...], ModelLink] = {}
    for link in raw_links:
        for each in _expand(link, lists, linked_lists):
            bound = _bind_link(each, final, external, layer)
            if bound is None:
                continue
            key = (bound.kind, bound.source, bound.target, bound.stereotype, bound.name)
            first = seen.get(key)
            if first is not None:
                if bound.source in redefined or bound.target in redefined:
                    continue  # a new object of the same name: the redefinition is the finding
                layer.diagnostics.append(
                    Diagnostic(
                        Severity.WARNING,
                        "duplicate-link",
                        bound.at.file,
                        bound.at.line,
                        f"the link {bound.source} → {bound.target} ({bound.kind}) is written "
                        f"again (first at {first.at.file}:{first.at.line}); kept once",
                    )
                )
                continue
            seen[key] = bound
            layer.links.append(bound)
    used = set().union(*(f.used for f in layer.files)) if layer.files else set()
    for name, (_, file, line) in lists.items():
        if name not in linked_lists and name not in used:
            layer.diagnostics.append(
                Diagnostic(
                    Severity.WARNING,
                    "unlinked-list",
                    file,
                    line,
                    f"the list {name} is defined but never linked: its codes evidence nothing",
                )
            )
    return layer


def _bind_view(
    view: ModelView, order: int, f: ModelFile, final: dict[str, ModelClass], layer: ModelLayer
) -> ModelView:
    """The view with its order, the metaclass of each class list it stops at, and only the
    classes defined by then (as the library built it when the statement ran)."""
    kinds = []
    for name in view.stop_kinds:
        kind = f.kind_lists.get(name)
        if kind is None:
            layer.diagnostics.append(
                Diagnostic(
                    Severity.WARNING,
                    "undefined-name",
                    view.at.file,
                    view.at.line,
                    f"view {view.name}: {name} is not a list of all classes of a metaclass",
                )
            )
        else:
            kinds.append(kind)
    named = [*view.elements, *([view.start] if view.start else []), *view.stops, *view.boundaries]
    for name in named:
        if name not in final:
            layer.diagnostics.append(
                Diagnostic(
                    Severity.WARNING,
                    "undefined-name",
                    view.at.file,
                    view.at.line,
                    f"view {view.name}: {name} is defined nowhere before it",
                )
            )
    return dataclasses.replace(
        view,
        order=order,
        elements=tuple(n for n in view.elements if n in final),
        start=view.start if view.start in final else None,
        stops=tuple(n for n in view.stops if n in final),
        boundaries=tuple(n for n in view.boundaries if n in final),
        stop_kinds=tuple(kinds),
    )


def _run_order(files: list[ModelFile]) -> list[ModelFile]:
    """Files in the order their imports run them: an imported file before its importer."""
    by_module = {f.module: f for f in files}
    done: list[ModelFile] = []
    visiting: set[str] = set()

    def visit(f: ModelFile) -> None:
        if f in done or f.module in visiting:
            return
        visiting.add(f.module)
        for module, _, _ in f.imports:
            dep = by_module.get(module.rsplit(".", 1)[-1])
            if dep is not None and dep is not f:
                visit(dep)
        done.append(f)

    for f in sorted(files, key=lambda f: (f.name, f.file)):
        visit(f)
    return done


def _check_imports(f: ModelFile, layer: ModelLayer) -> set[str]:
    """Names imported from packages that are not there (reported once per import)."""
    modules = {g.module for g in layer.files}
    external: set[str] = set()
    for module, names, line in f.imports:
        root = module.lstrip(".").split(".", 1)[0]
        last = module.rsplit(".", 1)[-1]
        if root in LIBRARY_PACKAGES or last in modules or root in _STANDARD:
            continue
        external.update(n for n in names if n != "*")
        layer.diagnostics.append(
            Diagnostic(
                Severity.WARNING,
                "missing-import",
                f.file,
                line,
                f"imports {', '.join(names) or module} from {module}, which is neither a file "
                "of this model nor the modelling library; links to those names are left out",
            )
        )
    return external


_STANDARD = frozenset({"os", "sys", "re", "pathlib", "typing", "__future__", "enum", "itertools"})


def _expand(
    link: ModelLink,
    lists: dict[str, tuple[tuple[str, ...], str, int]],
    linked: set[str],
) -> list[ModelLink]:
    """A link to a list of codes is a link to each code in it, in list order."""
    if link.target in lists:
        linked.add(link.target)
        return [dataclasses.replace(link, target=item) for item in lists[link.target][0]]
    if link.source in lists:
        linked.add(link.source)
        return [dataclasses.replace(link, source=item) for item in lists[link.source][0]]
    return [link]


def _bind_link(
    link: ModelLink,
    final: dict[str, ModelClass],
    external: set[str],
    layer: ModelLayer,
) -> ModelLink | None:
    ends = [final.get(link.source), final.get(link.target)]
    for name, cls in zip((link.source, link.target), ends, strict=True):
        if cls is None:
            if name not in external:
                layer.diagnostics.append(
                    Diagnostic(
                        Severity.WARNING,
                        "undefined-name",
                        link.at.file,
                        link.at.line,
                        f"{name} is defined nowhere in this model; the link "
                        f"{link.source} → {link.target} is left out",
                    )
                )
            return None
    source, target = ends
    assert source is not None
    assert target is not None
    if link.kind is not None:
        return link
    kind = _kind_by_ends(source.metaclass, target.metaclass)
    if kind is None:
        layer.diagnostics.append(
            Diagnostic(
                Severity.INFO,
                "unknown-link",
                link.at.file,
                link.at.line,
                f"a link {link.source} ({source.metaclass}) → {link.target} "
                f"({target.metaclass}) means nothing in the metamodel; left out",
            )
        )
        return None
    return dataclasses.replace(link, kind=kind)


def _kind_by_ends(source: str, target: str) -> LinkKind | None:
    if source == "category" and target in ("decision", "category"):
        return LinkKind.CATEGORY
    if target == "known_use":
        return LinkKind.KNOWN_USE
    if source == "source" and target == "reference":
        return LinkKind.REFERENCE
    if source == "source":
        return LinkKind.EVIDENCE
    if target == "force" and source in _SOLUTIONS:
        return LinkKind.IMPACT
    return None


def attach(coll: Collection, layer: ModelLayer | None) -> None:
    """Give ``coll`` its model layer, with a finding for every code whose label or kind the
    two layers give differently (both stay in the graph; the notes' is the code's own)."""
    coll.model = layer
    if layer is None:
        return
    for name, cls in layer.final.items():
        code = coll.codes.get(name)
        if code is None or code.kind is None or not code.definitions:
            continue
        _, first = code.definitions[0]
        where = f"{first.at.file}:{first.at.line}"
        if cls.metaclass in _CODE_KINDS and cls.metaclass != code.kind.value:
            layer.diagnostics.append(
                Diagnostic(
                    Severity.WARNING,
                    "layer-kind-differs",
                    cls.at.file,
                    cls.at.line,
                    f"{name} is a {cls.metaclass} in the model but a {code.kind.value} in the "
                    f"notes ({where})",
                )
            )
        if cls.label != code.label and cls.label not in code.labels:
            layer.diagnostics.append(
                Diagnostic(
                    Severity.INFO,
                    "layer-label-differs",
                    cls.at.file,
                    cls.at.line,
                    f"{name} is labelled {cls.label!r} in the model but {code.label!r} in the "
                    f"notes ({where})",
                )
            )


_CODE_KINDS = frozenset({"practice", "pattern", "force", "decision"})
_SOLUTIONS = frozenset(
    {"practice", "pattern", "decision", "design_solution", "do_nothing_design_solution"}
)
