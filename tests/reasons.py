"""Every reason lookalike gives for a file it could not use or left alone, read from its source code.

A reason is what a `Problem` (the report's "errors"), a `Skip` (plan and apply's "left alone"), a companion's
`Fate`, a refusal (`_Refused`, `NotRegularFile`) or a journal's event (`"reason"`) is given. Each is followed to
its strings: a literal, the literal head of an f-string, a constant, what a called function of the package
returns, what a variable was assigned, and for a parameter what the function's callers pass. What comes back is
the fixed text of each reason, as the manual must name it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lookalike

SOURCE = Path(lookalike.__file__).parent
# the class, and its reason's position: files left out or alone, then the messages of a command that stops
CARRIERS = {"Problem": 1, "Skip": 2, "_Refused": 0, "NotRegularFile": 0,
            "UsageError": 0, "UnusableCache": 0, "ValueError": 0}  # a ValueError becomes a usage error's line
INTERNAL = ("stages/search.py", "stages/images.py", "engines/shards.py")  # their ValueErrors are a caller's bug
KEYWORDS = ("reason",)  # given by name, to a carrier or to a companion's `Fate`
EVENTS = {"failed", "not-undone"}  # a journal's events for a file left alone, or not put back
DEPTH = 6


@dataclass(frozen=True)
class Site:
    expression: ast.expr
    function: ast.FunctionDef | None  # where it is, for its local variables and parameters


class Source:
    def __init__(self, root: Path = SOURCE) -> None:
        paths = sorted(root.rglob("*.py"))
        self.trees = [ast.parse(path.read_text(encoding="utf-8")) for path in paths]
        internal = {id(tree) for path, tree in zip(paths, self.trees, strict=True)
                    if path.relative_to(root).as_posix() in INTERNAL}
        self.functions: dict[str, list[ast.FunctionDef]] = defaultdict(list)
        self.constants: dict[str, list[ast.expr]] = defaultdict(list)
        self.calls: list[tuple[ast.Call, ast.FunctionDef | None]] = []
        self.reasons_in_events: list[Site] = []
        for tree in self.trees:
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    self.constants[node.targets[0].id].append(node.value)
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                    self.constants[node.target.id].append(node.value)
            for function in [None, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
                if function is not None:
                    self.functions[function.name].append(function)
                for node in _own_nodes(tree if function is None else function):
                    if isinstance(node, ast.Call) and not (id(tree) in internal and _called(node) == "ValueError"):
                        self.calls.append((node, function))
                    if isinstance(node, ast.Dict) and EVENTS & _keys(node):  # {"failed": N, "reason": ...}
                        self.reasons_in_events += [Site(value, function) for key, value in zip(node.keys, node.values,
                                                                                                strict=True)
                                                   if isinstance(key, ast.Constant) and key.value in KEYWORDS]

    def reasons(self) -> set[str]:
        found: set[str] = set()
        for call, function in self.calls:
            name = _called(call)
            if name in CARRIERS and len(call.args) > CARRIERS[name]:
                found |= self.texts(Site(call.args[CARRIERS[name]], function), DEPTH)
            for keyword in call.keywords:
                if keyword.arg in KEYWORDS and name in (*CARRIERS, "Fate"):
                    found |= self.texts(Site(keyword.value, function), DEPTH)
        for site in self.reasons_in_events:
            found |= self.texts(site, DEPTH)
        return {text for text in found if len(text) >= 3}

    def texts(self, site: Site, depth: int) -> set[str]:
        """The fixed texts `site.expression` can have."""
        node = site.expression
        if depth == 0:
            return set()
        if isinstance(node, ast.Constant):
            return {node.value.strip()} if isinstance(node.value, str) else set()
        if isinstance(node, ast.JoinedStr):  # its fixed head, and what the package's functions in it return
            return ({_head(node)} - {""}).union(*(self.texts(Site(part.value, site.function), depth - 1)
                                                  for part in node.values if isinstance(part, ast.FormattedValue)
                                                  and isinstance(part.value, ast.Call)))
        if isinstance(node, ast.IfExp):
            return self.texts(Site(node.body, site.function), depth) | self.texts(Site(node.orelse, site.function),
                                                                                   depth)
        if isinstance(node, ast.BoolOp):
            return set().union(*(self.texts(Site(value, site.function), depth) for value in node.values))
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "str" and node.args:
                return self.texts(Site(node.args[0], site.function), depth - 1)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "get":  # a table of reasons
                return self._values_of(node.func.value, depth) | self._from_args(node, site, depth)
            return set().union(*(self._returned(function, depth - 1) for function in self.functions[_called(node)]))
        if isinstance(node, ast.Subscript):
            return self._values_of(node.value, depth)
        if isinstance(node, ast.Name):
            return self._named(node.id, site, depth)
        return set()

    def _from_args(self, call: ast.Call, site: Site, depth: int) -> set[str]:
        return set().union(*(self.texts(Site(arg, site.function), depth - 1) for arg in call.args[1:]))

    def _values_of(self, table: ast.expr, depth: int) -> set[str]:
        if not isinstance(table, ast.Name):
            return set()
        return set().union(*(self.texts(Site(value, None), depth - 1) for constant in self.constants[table.id]
                             if isinstance(constant, ast.Dict) for value in constant.values))

    def _returned(self, function: ast.FunctionDef, depth: int) -> set[str]:
        return set().union(*(self.texts(Site(node.value, function), depth) for node in _own_nodes(function)
                             if isinstance(node, ast.Return) and node.value is not None))

    def _named(self, name: str, site: Site, depth: int) -> set[str]:
        function = site.function
        if function is not None:
            assigned = [node.value for node in _own_nodes(function) if isinstance(node, ast.Assign | ast.NamedExpr)
                        and any(isinstance(target, ast.Name) and target.id == name for target in _targets(node))]
            if assigned:
                return set().union(*(self.texts(Site(value, function), depth - 1) for value in assigned))
            parameters = [argument.arg for argument in function.args.args]
            if name in parameters:
                return self._passed(function.name, parameters.index(name), name, depth - 1)
        return set().union(*(self.texts(Site(value, None), depth - 1) for value in self.constants[name]))

    def _passed(self, function: str, position: int, name: str, depth: int) -> set[str]:
        """What the callers of `function` pass as its parameter `name` (at `position`, methods less `self`)."""
        found: set[str] = set()
        for call, caller in self.calls:
            if _called(call) != function:
                continue
            offset = 1 if isinstance(call.func, ast.Attribute) and self._is_method(function) else 0
            arguments = {keyword.arg: keyword.value for keyword in call.keywords}
            if name in arguments:
                found |= self.texts(Site(arguments[name], caller), depth)
            elif 0 <= position - offset < len(call.args):
                found |= self.texts(Site(call.args[position - offset], caller), depth)
        return found

    def _is_method(self, function: str) -> bool:
        return any(definition.args.args and definition.args.args[0].arg == "self"
                   for definition in self.functions[function])


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of `scope`, not those of the functions defined inside it."""
    for child in ast.iter_child_nodes(scope):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield child
            yield from _own_nodes(child)


def _keys(table: ast.Dict) -> set[object]:
    return {key.value for key in table.keys if isinstance(key, ast.Constant)}


def _targets(node: ast.Assign | ast.NamedExpr) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _called(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _head(text: ast.JoinedStr) -> str:
    """The fixed text of an f-string: its start, or where it starts with a value, its first fixed part."""
    parts = [part.value for part in text.values if isinstance(part, ast.Constant)]
    if text.values and isinstance(text.values[0], ast.Constant) and len(text.values[0].value.strip()) >= 3:
        return text.values[0].value.strip()
    return max(parts, key=len, default="").strip()


def reasons() -> list[str]:
    return sorted(Source().reasons())


if __name__ == "__main__":
    print("\n".join(reasons()))
