"""Consolidated model files (CodeableModels Python) to :class:`~app.model.ModelFile` items.

A study published what it consolidated from its notes as Python programs that build a
CodeableModels model: ``x = CClass(practice, "Label")``, ``add_links({s1: s1_codes}, …)``,
``add_decision_option_link(…)``, ``add_force_relations({…})``, ``a.add_links(b, …)[0]``. They are
read here with :mod:`ast` only, never imported or run: the statements the metamodel gives
meaning to are recognised by their shape, and everything else (views, helper functions,
rendering calls) is passed over. As with notes, nothing stops the reading: a statement that
does not parse is reported with its line and the rest of the file is read.

One file alone cannot tell what a name means (``sources_and_codes_model.py`` uses the codes
its study's model defines): :mod:`app.parse.model_layer` binds the names across a layer's
files. The reader keeps names as written and reports what one file shows: statements that do
not parse, duplicate keys in a force-relations dict, unknown stereotypes, calls it cannot read.
"""

from __future__ import annotations

import ast

from app.model import (
    CONTEXT_KINDS,
    DECISION_TYPES,
    DEPENDENCY_KINDS,
    NEXT_KINDS,
    NEXT_ROLES,
    Diagnostic,
    Impact,
    LinkKind,
    Loc,
    ModelClass,
    ModelFile,
    ModelLink,
    ModelView,
    Severity,
    clean_text,
    replaced,
)

IMPACT_LEVELS = tuple(level.value for level in Impact)
METACLASSES = (
    "practice",
    "pattern",
    "force",
    "decision",
    "design_solution",
    "do_nothing_design_solution",
    "category",
    "known_use",
    "domain_metaclass",
    "domain_class_group",
    "and_combined_group",
    "or_combined_group",
    "source",
    "reference",
    "code",
)
STEREOTYPES = frozenset(
    (*IMPACT_LEVELS, *DEPENDENCY_KINDS, *NEXT_KINDS, *CONTEXT_KINDS, *DECISION_TYPES)
)

_EVIDENCE_ROLES = frozenset({"contained_code", "contained_codes", "codes"})
_FORCE_ROLES = frozenset({"forces", "force"})
_MAX_REPAIRS = 200  # statements dropped to read past syntax errors, at most


def read_model_file(text: str, *, file: str, name: str, collection: str) -> ModelFile:
    """What one model file says; never raises on its content."""
    module = name[:-3] if name.endswith(".py") else name
    out = ModelFile(file=file, name=name, collection=collection, module=module)
    text, kinds = clean_text(text)
    out.diagnostics.extend(replaced(kind, file, 1) for kind in kinds)
    out.line_count = text.count("\n") + (0 if text.endswith("\n") else 1)
    tree = _parse_tolerantly(text, out)
    _Reader(out).read(tree)
    return out


def _parse_tolerantly(text: str, out: ModelFile) -> ast.Module:
    """The module's statements; a statement that does not parse is blanked and reported.

    The statement is taken to run from the line of the error back to the last line that starts
    at column 0, forward to the line before the next one that does.
    """
    lines = text.split("\n")
    for _ in range(_MAX_REPAIRS):
        try:
            return ast.parse("\n".join(lines), filename=out.file)
        except SyntaxError as err:
            line = min(max(err.lineno or 1, 1), len(lines))
            start = line
            while start > 1 and not _starts_statement(lines[start - 1]):
                start -= 1
            end = line
            while end < len(lines) and not _starts_statement(lines[end]):
                end += 1
            out.diagnostics.append(
                Diagnostic(
                    Severity.ERROR,
                    "model-syntax",
                    out.file,
                    start,
                    f"lines {start}-{end} do not parse as Python ({err.msg}); not read",
                )
            )
            for k in range(start - 1, end):
                lines[k] = ""
        except (ValueError, RecursionError, MemoryError) as err:
            out.diagnostics.append(
                Diagnostic(Severity.ERROR, "model-syntax", out.file, 1, f"not read: {err}")
            )
            break
    return ast.Module(body=[], type_ignores=[])


def _starts_statement(line: str) -> bool:
    return bool(line) and not line[0].isspace() and not line.startswith((")", "]", "}", "#"))


class _Reader:
    def __init__(self, out: ModelFile) -> None:
        self.out = out
        self.order = 0

    def find(
        self, code: str, line: int, message: str, severity: Severity = Severity.WARNING
    ) -> None:
        self.out.diagnostics.append(Diagnostic(severity, code, self.out.file, line, message))

    def read(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            try:
                self.statement(stmt)
            except RecursionError:
                self.find("model-unread", stmt.lineno, "a statement nests too deeply; not read")

    # --- statements ----------------------------------------------------------------------

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.ImportFrom):
            names = tuple(a.name for a in stmt.names)
            self.out.imports.append(("." * stmt.level + (stmt.module or ""), names, stmt.lineno))
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                self.out.imports.append((alias.name, (), stmt.lineno))
        elif isinstance(stmt, ast.Assign):
            self.assign(stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self.call(stmt.value, stmt.lineno)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            pass  # helpers (add_force_relations) and the like: not model content
        elif isinstance(stmt, ast.If) and _is_main_guard(stmt):
            pass  # rendering when run as a program
        else:
            self.uses(stmt)

    def assign(self, stmt: ast.Assign) -> None:
        value = stmt.value
        target = stmt.targets[0] if len(stmt.targets) == 1 else None
        name = target.id if isinstance(target, ast.Name) else None
        if isinstance(value, ast.Call) and _callee(value) == "CClass" and name is not None:
            self.cclass(name, value, stmt.lineno)
            return
        if isinstance(value, ast.Call) and _callee(value) == "CBundle":
            self.uses(value)
            self.view(value, stmt.lineno)
            return
        if isinstance(value, ast.ListComp) and name is not None:
            kind = _all_classes_of(value)
            if kind is not None:  # [f.class_object for f in force.all_classes]
                self.out.kind_lists[name] = kind
                return
        if isinstance(value, (ast.List, ast.Tuple)) and name is not None:
            items = [e.id for e in value.elts if isinstance(e, ast.Name)]
            if len(items) == len(value.elts):
                self.out.lists[name] = (tuple(items), stmt.lineno)
                return
        call = value.value if isinstance(value, ast.Subscript) else value
        if isinstance(call, ast.Call):
            self.call(call, stmt.lineno)
        else:
            self.uses(value)

    def uses(self, node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                self.out.used.add(sub.id)

    def next_order(self) -> int:
        self.order += 1
        return self.order

    def cclass(self, name: str, call: ast.Call, line: int) -> None:
        args = call.args
        meta = args[0].id if args and isinstance(args[0], ast.Name) else None
        second = args[1] if len(args) > 1 else None
        label = second.value if isinstance(second, ast.Constant) else None
        if meta is None or not isinstance(label, str):
            self.find(
                "model-unread",
                line,
                f"CClass for {name!r} needs a metaclass name and a label string; not read",
            )
            return
        values: dict[str, str | bool | int | float] = {}
        stereotypes: tuple[str, ...] = ()
        for kw in call.keywords:
            if kw.arg == "values" and isinstance(kw.value, ast.Dict):
                values = self.values(kw.value, line)
            elif kw.arg == "stereotype_instances":
                stereotypes = tuple(_names(kw.value))
        if meta not in METACLASSES:
            self.find(
                "unknown-metaclass", line, f"{name}: unknown metaclass {meta!r}; kept as written"
            )
        for st in stereotypes:
            if st not in STEREOTYPES:
                self.find("unknown-stereotype", line, f"{name}: unknown stereotype {st!r}")
        label, kinds = clean_text(label)
        self.out.diagnostics.extend(replaced(k, self.out.file, line) for k in kinds)
        self.out.classes.append(
            ModelClass(
                name,
                meta,
                label,
                values,
                stereotypes,
                Loc(self.out.file, line),
                self.next_order(),
            )
        )

    def values(self, node: ast.Dict, line: int) -> dict[str, str | bool | int | float]:
        found: dict[str, str | bool | int | float] = {}
        for key_node, value in zip(node.keys, node.values, strict=True):
            key = _text(key_node)
            if key is None:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, (str, bool, int, float)):
                v = value.value
                found[key] = clean_text(v)[0] if isinstance(v, str) else v
            else:
                self.find(
                    "model-unread",
                    getattr(value, "lineno", line),
                    f"the value of {key!r} is not a plain constant; not read",
                )
        return found

    def view(self, call: ast.Call, line: int) -> None:
        """``CBundle("name", elements=[…])`` or ``elements=x.class_object.get_connected_elements(
        stop_elements_exclusive=…, stop_elements_inclusive=…)``."""
        first = call.args[0] if call.args else None
        name = first.value if isinstance(first, ast.Constant) else None
        elements = next((kw.value for kw in call.keywords if kw.arg == "elements"), None)
        if not isinstance(name, str) or elements is None:
            self.find("model-unread", line, "a view (CBundle) needs a name and its elements")
            return
        at = Loc(self.out.file, line)
        if isinstance(elements, (ast.List, ast.Tuple)):
            names = tuple(n for e in elements.elts if (n := _class_name(e)) is not None)
            self.out.views.append(ModelView(name, at, self.next_order(), elements=names))
            return
        if isinstance(elements, ast.Call) and _callee(elements) == "get_connected_elements":
            func = elements.func
            start = _class_name(func.value) if isinstance(func, ast.Attribute) else None
            if start is not None:
                found: dict[str, tuple[list[str], list[str]]] = {}
                for kw in elements.keywords:
                    if kw.arg in ("stop_elements_exclusive", "stop_elements_inclusive"):
                        found[kw.arg] = _class_names(kw.value)
                stops, stop_kinds = found.get("stop_elements_exclusive", ([], []))
                boundaries, _ = found.get("stop_elements_inclusive", ([], []))
                self.out.views.append(
                    ModelView(
                        name,
                        at,
                        self.next_order(),
                        start=start,
                        stops=tuple(stops),
                        boundaries=tuple(boundaries),
                        stop_kinds=tuple(stop_kinds),
                    )
                )
                return
        self.find("model-unread", line, f"the elements of view {name!r} are not a list or a walk")

    # --- calls that add links ---------------------------------------------------------------

    def call(self, call: ast.Call, line: int) -> None:
        """Read a call that adds links; other calls (views, rendering) only use names."""
        callee = _callee(call)
        self.uses(call)
        if callee == "add_decision_option_link":
            self.option(call, line)
        elif callee == "add_force_relations":
            self.force_relations(call, line)
        elif callee == "add_stereotyped_link_with_how_tagged_value":
            self.how_link(call, line)
        elif callee == "add_links":
            self.add_links(call, line)

    def link(
        self,
        kind: LinkKind | None,
        source: str,
        target: str,
        stereotype: str | None,
        line: int,
        *,
        name: str | None = None,
        tagged: tuple[tuple[str, str], ...] = (),
        role: str | None = None,
    ) -> None:
        at = Loc(self.out.file, line)
        link = ModelLink(
            kind, source, target, stereotype, at, self.next_order(), name, tagged, role
        )
        self.out.links.append(link)

    def option(self, call: ast.Call, line: int) -> None:
        args = call.args
        if len(args) < 2 or not all(isinstance(a, ast.Name) for a in args[:2]):
            self.find(
                "model-unread", line, "add_decision_option_link needs a decision and a solution"
            )
            return
        decision, solution = _names(ast.List(elts=args[:2]))
        name = _text(args[2]) if len(args) > 2 else None
        for kw in call.keywords:
            if kw.arg in ("option_name", "name") and _text(kw.value) is not None:
                name = _text(kw.value)
        self.link(LinkKind.OPTION, decision, solution, "option", line, name=name)

    def force_relations(self, call: ast.Call, line: int) -> None:
        """``add_force_relations({solution: {force: level}})``, read as Python builds the dicts:
        a repeated key keeps its first place and its last value (and is reported)."""
        if not call.args or not isinstance(call.args[0], ast.Dict):
            self.find("model-unread", line, "add_force_relations needs a dict; not read")
            return
        relations: dict[str, dict[str, tuple[str, int]]] = {}
        for key, inner in self.entries(call.args[0], line, "add_force_relations"):
            if not isinstance(inner, ast.Dict):
                self.find("model-unread", key.lineno, f"{key.id}: not `{{force: level}}`")
                continue
            forces: dict[str, tuple[str, int]] = {}
            for force, level in self.entries(inner, key.lineno, key.id):
                if not isinstance(level, ast.Name):
                    self.find("model-unread", force.lineno, f"{key.id} → {force.id}: no level")
                    continue
                forces[force.id] = (level.id, force.lineno)
            relations[key.id] = forces
        for solution, forces in relations.items():
            for force_name, (level_name, at) in forces.items():
                self.stereotype_known(level_name, at, IMPACT_LEVELS)
                self.link(LinkKind.IMPACT, solution, force_name, level_name, at, role="forces")

    def entries(self, node: ast.Dict, line: int, what: str) -> list[tuple[ast.Name, ast.expr]]:
        """The ``name: value`` entries of a dict literal; a repeated name is a finding."""
        seen: dict[str, int] = {}
        found: list[tuple[ast.Name, ast.expr]] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if not isinstance(key, ast.Name):
                self.find(
                    "model-unread", getattr(key, "lineno", line), f"{what}: a key is not a name"
                )
                continue
            if key.id in seen:
                self.find(
                    "duplicate-key",
                    key.lineno,
                    f"{what}: {key.id} is given twice in one dict (first at line {seen[key.id]});"
                    " Python keeps only the last value",
                )
            seen.setdefault(key.id, key.lineno)
            found.append((key, value))
        return found

    def how_link(self, call: ast.Call, line: int) -> None:
        args = call.args
        if len(args) < 3 or not all(isinstance(a, ast.Name) for a in args[:3]):
            self.find(
                "model-unread",
                line,
                "add_stereotyped_link_with_how_tagged_value needs two ends and a kind",
            )
            return
        source, target, kind = _names(ast.List(elts=args[:3]))
        how = _text(args[3]) if len(args) > 3 else None
        self.stereotype_known(kind, line, DEPENDENCY_KINDS)
        tagged = (("how", str(how)),) if how is not None else ()
        self.link(LinkKind.DEPENDENCY, source, target, kind, line, tagged=tagged, role="to")

    def add_links(self, call: ast.Call, line: int) -> None:
        role: str | None = None
        stereotype: str | None = None
        tagged: list[tuple[str, str]] = []
        for kw in call.keywords:
            if kw.arg == "role_name" and _text(kw.value) is not None:
                role = _text(kw.value)
            elif kw.arg == "stereotype_instances":
                found = _names(kw.value)
                if len(found) > 1:
                    self.find(
                        "model-unread",
                        line,
                        f"several stereotypes on one link ({', '.join(found)}); the first is kept",
                    )
                stereotype = found[0] if found else None
            elif kw.arg == "tagged_values" and isinstance(kw.value, ast.Dict):
                for k, v in zip(kw.value.keys, kw.value.values, strict=True):
                    key = _text(k)
                    if key is not None and isinstance(v, ast.Constant) and v.value is not None:
                        tagged.append((key, str(v.value)))
        func = call.func
        pairs: list[tuple[str, list[str], int]] = []
        if isinstance(func, ast.Attribute):  # a.add_links(b or [b, c], …)
            if not isinstance(func.value, ast.Name) or not call.args:
                self.find(
                    "model-unread", line, "add_links on something that is not a name; not read"
                )
                return
            pairs.append((func.value.id, _names(call.args[0]), line))
        elif call.args and isinstance(call.args[0], ast.Dict):  # add_links({a: b or [b, c]}, …)
            by_key = {
                key.id: (key, value) for key, value in self.entries(call.args[0], line, "add_links")
            }
            pairs.extend((k.id, _names(v), k.lineno) for k, v in by_key.values())
        else:
            self.find("model-unread", line, "add_links needs a dict or an object; not read")
            return
        kind = _kind_of(role, stereotype)
        if stereotype is not None and stereotype not in STEREOTYPES:
            self.find("unknown-stereotype", line, f"unknown stereotype {stereotype!r} on a link")
        for caller, targets, at in pairs:
            for target in targets:
                source, end = caller, target
                if kind is LinkKind.DEPENDENCY and role == "from":
                    source, end = target, caller  # the argument holds the "from" role
                self.link(kind, source, end, stereotype, at, tagged=tuple(tagged), role=role)

    def stereotype_known(self, name: str, line: int, family: tuple[str, ...]) -> None:
        if name not in family:
            self.find(
                "unknown-stereotype",
                line,
                f"unknown stereotype {name!r}; expected one of {', '.join(family)}",
            )


def _kind_of(role: str | None, stereotype: str | None) -> LinkKind | None:
    if role in _EVIDENCE_ROLES:
        return LinkKind.EVIDENCE
    if role in _FORCE_ROLES or stereotype in IMPACT_LEVELS:
        return LinkKind.IMPACT
    if role in NEXT_ROLES or stereotype in NEXT_KINDS:
        return LinkKind.NEXT
    if stereotype in CONTEXT_KINDS:
        return LinkKind.CONTEXT
    if stereotype in DEPENDENCY_KINDS or role in ("from", "to"):
        return LinkKind.DEPENDENCY
    return None


def _class_name(node: ast.expr) -> str | None:
    """``x`` or ``x.class_object``: the class named ``x``."""
    if isinstance(node, ast.Attribute) and node.attr == "class_object":
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _class_names(node: ast.expr) -> tuple[list[str], list[str]]:
    """Classes (and lists of all classes of a metaclass, by name) in ``a + [b.class_object]``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _class_names(node.left), _class_names(node.right)
        return left[0] + right[0], left[1] + right[1]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [n for e in node.elts if (n := _class_name(e)) is not None], []
    if isinstance(node, ast.Name):
        return [], [node.id]
    return [], []


def _all_classes_of(node: ast.ListComp) -> str | None:
    """``[x.class_object for x in force.all_classes]``: the metaclass (``force``)."""
    gens = node.generators
    it = gens[0].iter if len(gens) == 1 else None
    if (
        isinstance(it, ast.Attribute)
        and it.attr == "all_classes"
        and isinstance(it.value, ast.Name)
    ):
        return it.value.id
    return None


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e.id for e in node.elts if isinstance(e, ast.Name)]
    return []


def _text(node: ast.expr | None) -> str | None:
    """The value of a string literal; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_main_guard(stmt: ast.If) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(stmt.test))
