"""Read a spec file: YAML text -> plain data with source positions -> validated ``Spec``.

YAML is composed into a node tree (never constructed by ruamel), so every value keeps
its line and column and YAML features we refuse (anchors, aliases, merge keys, custom
tags, duplicate keys) are seen before any value is used. Validation errors from pydantic
are mapped back onto that tree, so each one is reported as ``file:line:col: field: msg``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.errors import Problem, SpecError
from generator.spec import Spec

_TAG = "tag:yaml.org,2002:"
_SCALARS = {
    _TAG + "str": str,
    _TAG + "int": lambda text: int(text.replace("_", ""), 0),
    _TAG + "float": float,
    _TAG + "bool": lambda text: text.lower() == "true",
    _TAG + "null": lambda text: None,
}


def _tag(node: Node) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag))


def _where(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Tree:
    """The composed YAML node tree of one file, with path lookups for error reporting."""

    def __init__(self, filename: str, root: Node | None) -> None:
        self.filename = filename
        self.root = root

    def problem(self, node: Node | None, field: str, message: str) -> Problem:
        line, column = _where(node) if node is not None else (1, 1)
        return Problem(self.filename, line, column, field, message)

    def structural_problems(self) -> list[Problem]:
        """Anchors, aliases, merge keys, custom tags and duplicate keys, all of them."""
        problems: list[Problem] = []
        seen: set[int] = set()

        def walk(node: Node, path: str) -> None:
            if id(node) in seen:
                problems.append(self.problem(node, path, "aliases (*name) are not allowed; write the value out"))
                return
            seen.add(id(node))
            if getattr(node, "anchor", None):
                problems.append(
                    self.problem(node, path, f"anchors (&{node.anchor}) are not allowed; write each value out")
                )
            tag = _tag(node)
            if isinstance(node, ScalarNode) and tag not in _SCALARS:
                problems.append(self.problem(node, path, f"unsupported YAML tag {tag!r}"))
            elif isinstance(node, MappingNode):
                keys: dict[str, Node] = {}
                for key_node, value_node in node.value:
                    key = str(key_node.value)
                    if _tag(key_node) == _TAG + "merge" or key == "<<":
                        problems.append(self.problem(key_node, path, "merge keys (<<) are not allowed"))
                        continue
                    child = f"{path}.{key}" if path else key
                    if key in keys:
                        first = keys[key].start_mark.line + 1
                        problems.append(self.problem(key_node, child, f"duplicate key (first defined on line {first})"))
                    keys[key] = key_node
                    walk(value_node, child)
            elif isinstance(node, SequenceNode):
                for index, item in enumerate(node.value):
                    walk(item, f"{path}[{index}]")

        if self.root is not None:
            walk(self.root, "")
        return problems

    def to_data(self, node: Node | None = None) -> Any:
        node = self.root if node is None else node
        if node is None:
            return None
        if isinstance(node, MappingNode):
            return {str(k.value): self.to_data(v) for k, v in node.value}
        if isinstance(node, SequenceNode):
            return [self.to_data(item) for item in node.value]
        return _SCALARS[_tag(node)](node.value)

    def locate(self, loc: tuple[int | str, ...]) -> tuple[Node | None, str, bool]:
        """Follow a pydantic error location through the tree.

        Returns the deepest node reached, the dotted field path, and whether the whole
        location was found (False means a missing key: the node is its parent mapping).
        Location parts that name a union member rather than data are skipped.
        """
        node, parts, complete = self.root, [], True
        for part in loc:
            child = None
            if isinstance(node, MappingNode) and isinstance(part, str):
                child = next(((k, v) for k, v in node.value if str(k.value) == part), None)
                if child is not None:
                    parts.append(part)
                    node = child[1]
                    continue
                if part in _member_names():
                    continue
                parts.append(part)
                complete = False
                break
            if isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
                parts.append(f"[{part}]")
                node = node.value[part]
                continue
            if isinstance(part, str) and part in _member_names():
                continue
            parts.append(str(part))
            complete = False
            break
        return node, ".".join(parts).replace(".[", "["), complete

    def key_node(self, loc: tuple[int | str, ...]) -> Node | None:
        """The key node for the last element of ``loc`` (for 'unexpected key' errors)."""
        parent, _, _ = self.locate(loc[:-1])
        if isinstance(parent, MappingNode):
            for key_node, _value in parent.value:
                if str(key_node.value) == loc[-1]:
                    return key_node
        return parent


def _member_names() -> set[str]:
    from generator.methods import REGISTRY

    return set(REGISTRY)


def _explain(error: dict[str, Any], node: Node | None) -> str:
    kind, message = error["type"], error["msg"]
    raw = node.value if isinstance(node, ScalarNode) else None
    if kind == "string_type" and isinstance(node, ScalarNode) and _tag(node) in (_TAG + "int", _TAG + "float"):
        return f"expected a string, but YAML reads {raw} as a number; quote it: \"{raw}\""
    if kind == "string_type" and isinstance(node, ScalarNode) and _tag(node) == _TAG + "bool":
        return f"expected a string, but YAML reads {raw} as a boolean; quote it: \"{raw}\""
    if kind == "extra_forbidden":
        return "unknown key (not part of the spec; check its spelling and indentation)"
    if kind == "missing":
        return "required field is missing"
    if kind.startswith("value_error") or kind == "assertion_error":
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message[:1].lower() + message[1:]


def problems_from_validation(tree: _Tree, error: ValidationError) -> Iterator[Problem]:
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        node, field, complete = tree.locate(loc)
        if item["type"] == "extra_forbidden":
            node = tree.key_node(loc)
        elif item["type"] == "missing" or not complete:
            node = node  # the parent mapping: where the key should go
        yield tree.problem(node, field, _explain(item, node if complete else None))


def parse(text: str, filename: str) -> Spec:
    """Validate spec text; raises SpecError with every problem found."""
    yaml = YAML(typ="safe")
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SpecError([Problem(filename, line, column, "", f"invalid YAML: {detail}")]) from None
    tree = _Tree(filename, root)
    if root is None:
        raise SpecError([Problem(filename, 1, 1, "", "the spec is empty")])
    if not isinstance(root, MappingNode):
        raise SpecError([tree.problem(root, "", "the spec must be a mapping of keys to values")])
    problems = tree.structural_problems()
    if problems:
        raise SpecError(problems)
    try:
        spec = Spec.model_validate(tree.to_data())
    except ValidationError as exc:
        raise SpecError(list(problems_from_validation(tree, exc))) from None
    problems = []
    for loc, message in spec.issues():
        node, field, _complete = tree.locate(loc)
        problems.append(tree.problem(node, field, message))
    if problems:
        raise SpecError(problems)
    return spec


def load_spec(path: str | Path) -> Spec:
    """Load and validate a spec file. Problems name the file as given."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(str(path), 1, 1, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(str(path), 1, 1, "", f"not UTF-8 text ({exc.reason})")]) from None
    spec = parse(text, str(path))
    return spec.model_copy(update={"source": path})
