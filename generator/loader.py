"""Read a spec file: YAML text -> plain data with source positions -> validated ``Spec``.

YAML is composed into a node tree (never constructed by ruamel), so every value keeps
its line and column and YAML features we refuse (anchors, aliases, merge keys, custom
tags, duplicate keys) are seen before any value is used. Validation errors from pydantic
are mapped back onto that tree, so each one is reported as ``file:line:col: field: msg``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.errors import Problem, SpecError, UsageError
from generator.methods.registry import REGISTRY, Tool
from generator.safefile import MAX_INPUT_BYTES, TooLarge, is_dangling_symlink, read_regular
from generator.spec import Issue, Spec
from generator.terminal import escape_controls, has_controls
from generator.yamltree import TAG as _TAG, AliasNode, YamlProblem, compose, to_value, yaml11_reading

#: the scalar tags a spec may hold (after the YAML 1.2 core schema resolved them)
_SCALARS = {_TAG + name for name in ("str", "int", "float", "bool", "null")}
#: a spec larger than this is refused before it is parsed
MAX_SPEC_BYTES = MAX_INPUT_BYTES

_COLLECTION_TAGS: dict[type[Node], str] = {MappingNode: _TAG + "map", SequenceNode: _TAG + "seq"}


def _tag(node: Node) -> str:
    resolved: str | None = getattr(node, "resolved_tag", None)  # set by generator.yamltree on scalars
    if resolved is not None:
        return resolved
    tag = node.tag
    return str(getattr(tag, "value", tag))


def _shown_tag(tag: str) -> str:
    """A tag as it is written in YAML (!!python/object, !custom)."""
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _where(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Refused:
    """Stands in the data for a value already reported as refused; pydantic's complaints
    about it are dropped (the structural problem says what is wrong)."""

    def __repr__(self) -> str:
        return "<refused>"


REFUSED = _Refused()


class _Tree:
    """The composed YAML node tree of one file, with path lookups for error reporting."""

    def __init__(self, filename: str, root: Node | None) -> None:
        self.filename = filename
        self.root = root
        #: each mapping's (key node, value node) by key text, built when first asked for: a
        #: scan per lookup made reporting quadratic in the number of problems
        self._children: dict[int, dict[str, tuple[Node, Node]]] = {}
        #: nodes whose value cannot be used (alias, refused tag, unreadable scalar) and key
        #: nodes that name no key: reported by structural_problems, left out of to_data
        self.refused: set[int] = set()

    def child(self, mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
        """The first (key node, value node) of ``key`` in ``mapping``."""
        index = self._children.get(id(mapping))
        if index is None:
            index = {}
            for key_node, value_node in mapping.value:
                index.setdefault(str(key_node.value), (key_node, value_node))
            self._children[id(mapping)] = index
        return index.get(key)

    def problem(self, node: Node | None, field: str, message: str) -> Problem:
        line, column = _where(node) if node is not None else (1, 1)
        return Problem(self.filename, line, column, field, message)

    def structural_problems(self) -> list[Problem]:
        """Anchors, aliases, merge keys, tags other than the core schema's, duplicate keys,
        keys that are not plain scalars, and scalars that cannot be read one way only
        (:mod:`generator.yamltree`), on keys as on values; all of them."""
        problems: list[Problem] = []
        seen: set[int] = set()

        def node_problems(node: Node, path: str, what: str) -> bool:
            """Problems of the node itself; False if its content must not be looked at."""
            if isinstance(node, AliasNode) or id(node) in seen:
                problems.append(self.problem(node, path, f"aliases (*{node.value}) are not allowed{what}; write the value out"))
                self.refused.add(id(node))
                return False
            seen.add(id(node))
            if getattr(node, "anchor", None):
                problems.append(self.problem(node, path, f"anchors (&{node.anchor}) are not allowed{what}; write each value out"))
            tag = _tag(node)
            if (isinstance(node, ScalarNode) and tag not in _SCALARS) or (
                type(node) in _COLLECTION_TAGS and tag != _COLLECTION_TAGS[type(node)]
            ):
                problems.append(self.problem(node, path, f"unsupported YAML tag {_shown_tag(tag)}{what}; only plain values are allowed"))
                self.refused.add(id(node))
            elif problem := getattr(node, "problem", None):
                problems.append(self.problem(node, path, problem))
                self.refused.add(id(node))
            return True

        def walk(node: Node, path: str) -> None:
            if not node_problems(node, path, ""):
                return
            if isinstance(node, MappingNode):
                keys: dict[str, Node] = {}
                for key_node, value_node in node.value:
                    if not isinstance(key_node, ScalarNode) or isinstance(key_node, AliasNode):
                        # a key that names nothing: what the mapping holds is unknown
                        self.refused.update((id(key_node), id(node)))
                        node_problems(key_node, path, " on keys")
                        if not isinstance(key_node, AliasNode):
                            problems.append(self.problem(key_node, path, f"a key must be plain text; got {_describe(key_node)}"))
                        continue
                    key = str(key_node.value)
                    if key == "<<":
                        problems.append(self.problem(key_node, path, "merge keys (<<) are not allowed; write the keys out"))
                        # the keys it would merge are missing: the mapping is not what was meant
                        self.refused.update((id(key_node), id(node)))
                        continue
                    child = f"{path}.{key}" if path else key
                    if not node_problems(key_node, child, " on keys"):
                        continue
                    if key in keys:
                        first = keys[key].start_mark.line + 1
                        problems.append(self.problem(key_node, child, f"duplicate key (first defined on line {first})"))
                        self.refused.add(id(key_node))  # the first one is read, as locate finds it
                        walk(value_node, child)
                        continue
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
        if id(node) in self.refused:
            return REFUSED
        if isinstance(node, MappingNode):
            return {str(k.value): self.to_data(v) for k, v in node.value if id(k) not in self.refused}
        if isinstance(node, SequenceNode):
            return [self.to_data(item) for item in node.value]
        return to_value(_tag(node), node.value)

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
                child = self.child(node, part)
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

    def report_node(self, loc: tuple[int | str, ...], node: Node | None) -> Node | None:
        """Where to point for a problem with the value at ``loc``: a mapping or list in
        block style starts on the line after its key, so point at the key instead."""
        if isinstance(node, (MappingNode, SequenceNode)) and loc and isinstance(loc[-1], str):
            key = self.key_node(loc)
            if key is not None and isinstance(key, ScalarNode):
                return key
        return node

    def key_node(self, loc: tuple[int | str, ...]) -> Node | None:
        """The key node for the last element of ``loc`` (for 'unexpected key' errors)."""
        parent, _, _ = self.locate(loc[:-1])
        if isinstance(parent, MappingNode):
            found = self.child(parent, str(loc[-1]))
            if found is not None:
                return found[0]
        return parent


def _member_names() -> set[str]:
    """The names in a pydantic location that tag a union's member, not data: the install
    methods, and the spec's own tagged unions."""
    from generator.spec import UNION_TAGS

    return set(REGISTRY) | UNION_TAGS


def _unwrap(annotation: Any, part: str | int) -> Any:
    """The type one step further along a pydantic location, or None if unknown."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            if isinstance(part, str) and part in REGISTRY:
                return REGISTRY[part]
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return None
            annotation = members[0]
        else:
            break
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    if origin in (list, tuple) and isinstance(part, int):
        return get_args(annotation)[0]
    if origin is dict and isinstance(part, str):
        return get_args(annotation)[1]
    return None


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class whose fields sit at ``loc`` (for listing the keys it accepts)."""

    annotation: Any = Spec
    for part in loc:
        annotation = _unwrap(annotation, part)
        if annotation is None:
            return None
    for _ in range(3):  # Annotated / Optional wrappers around the model itself
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        if not args:
            return None
        annotation = args[0]
    return None


def spec_keys(model: type[BaseModel]) -> list[str]:
    """The keys a spec mapping of this model may contain."""
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return f"unknown key {key!r} (check its spelling and indentation)"
    keys = spec_keys(model)
    import difflib  # only for a spec with a problem: a valid one loads without it

    close = difflib.get_close_matches(key, keys, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}; {hint}expected one of: {', '.join(keys)}"


def _describe(node: Node | None) -> str:
    """What the YAML actually holds, in the words a spec author would use."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "an empty list" if not node.value else "a list"
    if not isinstance(node, ScalarNode):
        return "nothing"
    tag, raw = _tag(node), str(node.value)
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    if tag == _TAG + "null":
        return "an empty value (null)"
    if tag in (_TAG + "int", _TAG + "float"):
        return f"the number {shown}"
    if tag == _TAG + "bool":
        return f"the boolean {shown}"
    return f"the string {shown!r}"


#: pydantic error types that mean "wrong kind of value", and what was expected instead
_EXPECTED_TYPE = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}


def _explain(error: dict[str, Any], node: Node | None) -> str:
    kind: str = error["type"]
    message: str = error["msg"]
    ctx = error.get("ctx") or {}
    raw = node.value if isinstance(node, ScalarNode) else None
    got = _describe(node)
    if kind == "string_type" and isinstance(node, ScalarNode) and _tag(node) in (_TAG + "int", _TAG + "float"):
        return f'expected a string, but YAML reads {raw} as a number; quote it: "{raw}"'
    if kind == "string_type" and isinstance(node, ScalarNode) and _tag(node) == _TAG + "bool":
        return f'expected a string, but YAML reads {raw} as a boolean; quote it: "{raw}"'
    if kind in _EXPECTED_TYPE:
        hint = ""
        if isinstance(node, ScalarNode) and _tag(node) == _TAG + "str" and not node.style:
            reading = yaml11_reading(node.value)
            if reading and kind not in ("string_type", "list_type", "dict_type", "model_type", "model_attributes_type"):
                hint = f" ({reading} only in YAML 1.1; YAML 1.2 reads it as text)"
        return f"expected {_EXPECTED_TYPE[kind]}; got {got}{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("True", "true").replace("False", "false")
        return f"expected {expected}; got {got}"
    if kind == "string_too_short":
        return f"expected at least {ctx.get('min_length')} character(s); got {got}"
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} character(s); got {got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s); got {got}"
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length')} item(s); got {got}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"expected a number {message.removeprefix('Input should be ')}; got {got}"
    if kind.startswith("value_error") or kind == "assertion_error":
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if message.startswith("Input should be "):
        return f"expected {message.removeprefix('Input should be ')}; got {got}"
    return message[:1].lower() + message[1:]


def _methods() -> str:
    return ", ".join(REGISTRY)


def problems_from_validation(tree: _Tree, errors: list[Any]) -> Iterator[Problem]:
    """Each of pydantic's ``errors`` (ValidationError.errors()) as a problem at its place."""
    for item in errors:
        loc = tuple(item["loc"])
        kind = item["type"]
        value = item.get("input")
        if kind == "extra_forbidden":
            # an unknown key is reported whatever its value: a refused value is reported
            # on its own, and would otherwise hide the misspelt key above it
            _node, field, _complete = tree.locate(loc)
            yield tree.problem(tree.key_node(loc), field, _unknown_key(str(loc[-1]), _model_at(loc[:-1])))
            continue
        if value is REFUSED or (kind == "union_tag_invalid" and isinstance(value, dict) and value.get("method") is REFUSED):
            continue
        if kind == "union_tag_not_found":
            node, field, _complete = tree.locate(loc)
            yield tree.problem(node, f"{field}.method", f"required field is missing; expected one of: {_methods()}")
            continue
        if kind == "union_tag_invalid":
            node, field, _complete = tree.locate((*loc, "method"))
            tag = (item.get("ctx") or {}).get("tag")
            yield tree.problem(node, field, f"unknown install method {tag!r}; expected one of: {_methods()}")
            continue
        if loc and loc[-1] == "[key]":
            # a dict key failed its own type: point at the key, not at its value
            loc = loc[:-1]
            _node, field, _complete = tree.locate(loc)
            node = tree.key_node(loc)
            yield tree.problem(node, field, f"invalid key: {_explain(item, node)}")
            continue
        node, field, complete = tree.locate(loc)
        # for a missing key, ``node`` is the parent mapping: where the key should go
        where = tree.report_node(loc, node) if complete else node
        yield tree.problem(where, field, _explain(item, node if complete else None))


def _excluded_keys(tree: _Tree) -> Iterator[Problem]:
    """Model fields that are not spec keys (set by the loader, e.g. ``source``)."""
    assert isinstance(tree.root, MappingNode)
    for key_node, _value in tree.root.value:
        field = Spec.model_fields.get(str(key_node.value))
        if field is not None and field.exclude:
            yield tree.problem(key_node, str(key_node.value), _unknown_key(str(key_node.value), Spec))


def parse(text: str, filename: str) -> Spec:
    """Validate spec text; raises SpecError with every problem found."""
    try:
        root = compose(text, filename)
    except YamlProblem as exc:
        raise SpecError([exc.problem]) from None
    tree = _Tree(filename, root)
    if root is None:
        raise SpecError([Problem(filename, 1, 1, "", "the spec is empty")])
    if not isinstance(root, MappingNode):
        raise SpecError([tree.problem(root, "", "the spec must be a mapping of keys to values")])
    problems = tree.structural_problems()
    problems += _excluded_keys(tree)
    data = tree.to_data()
    if data is REFUSED:  # the whole spec (a merge key or a key that names nothing at the top)
        raise SpecError(problems)
    for field_name, field in Spec.model_fields.items():
        if field.exclude:
            data.pop(field_name, None)
    try:
        # strict: YAML already gives each value a type; "yes" is not a boolean and
        # "1000" is not an integer, whatever pydantic's lax coercions would say
        spec = Spec.model_validate(data, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems += problems_from_validation(tree, errors)
        # the cross-field checks, on the parts that did validate
        partial = _partial_spec(data, errors)
        if partial is not None:
            spec, incomplete, positions = partial
            problems += _located(tree, spec.issues(incomplete=incomplete, positions=positions))
        raise SpecError(problems) from None
    problems += _located(tree, spec.issues())
    if problems:
        raise SpecError(problems)
    return spec


@functools.cache
def _adapter(field_name: str) -> TypeAdapter[Any]:
    """Validates one top-level field of Spec (its type and constraints) on its own."""
    field = Spec.model_fields[field_name]
    assert field.annotation is not None  # every field of Spec is annotated
    # Any: an Annotated[...] built at run time is a special form mypy cannot take as a type
    annotation: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return TypeAdapter(annotation)


def _partial_spec(data: dict[str, Any], errors: list[Any]) -> tuple[Spec, frozenset[str], list[int]] | None:
    """A Spec of the top-level fields (and the tools) that validate on their own, the names
    of the fields that did not (the cross-field checks that read them are skipped), and the
    position in the file of each tool kept. None when an error belongs to no field."""
    failed = {loc[0] for loc in (tuple(e["loc"]) for e in errors) if loc}
    if any(not e["loc"] for e in errors) or failed - set(Spec.model_fields):
        # a model-level error, or an unknown top-level key (perhaps a misspelt field: what
        # it would have set is unknown): no cross-field check can be trusted
        return None
    values: dict[str, Any] = {}
    incomplete = set(failed)
    positions: list[int] = []
    for name, field in Spec.model_fields.items():
        if field.exclude or name not in data:
            if field.is_required():
                incomplete.add(name)
            continue
        if name == "tools" and isinstance(data[name], list):
            tool_adapter = _tool_adapter(Tool)
            tools = []
            for index, item in enumerate(data[name]):
                try:
                    tools.append(tool_adapter.validate_python(item, strict=True))
                    positions.append(index)
                except ValidationError:
                    continue
            values[name] = tools
        elif name not in failed:
            try:
                values[name] = _adapter(name).validate_python(data[name], strict=True)
            except ValidationError:  # cannot happen for a field the whole spec validated, but stay safe
                incomplete.add(name)
    return Spec.model_construct(**values), frozenset(incomplete), positions


@functools.cache
def _tool_adapter(tool_type: Any) -> TypeAdapter[Tool]:
    return TypeAdapter(tool_type)


def _located(tree: _Tree, issues: Iterable[Issue], *, name_defaults: bool = False) -> list[Problem]:
    """Each issue placed at its field in ``tree``. ``name_defaults``: an issue with a field
    the spec does not set (a default value) names the whole field and says so."""
    problems = []
    for loc, message in issues:
        node, field, complete = tree.locate(loc)
        if not complete and name_defaults:  # point where the key would go
            field = ".".join(str(part) for part in loc)
            message += " (this is the default value: the spec does not set it)"
        problems.append(tree.problem(tree.report_node(loc, node) if complete else node, field, message))
    return problems


def locate_issues(text: str, filename: str, issues: Iterable[Issue]) -> list[Problem]:
    """Problems found after loading (e.g. by looking at the file system), placed at their
    fields in the spec ``text`` that loaded without problems."""
    return _located(_Tree(filename, compose(text, filename)), issues, name_defaults=True)


def read_spec(path: Path) -> str:
    """The text of a spec file; a FIFO, device or directory is refused before it is opened.

    A path with control characters is refused: its file name is written into the generated
    Dockerfile's header comment (a newline would start a new Dockerfile line there) and the
    path into every message, where escape sequences could forge lines. Escaping it instead
    would name a file that does not exist in the header; renaming is the clear fix."""
    if has_controls(str(path)):
        raise UsageError(
            f"--spec: the spec's path '{escape_controls(str(path))}' contains control characters "
            "(its name is written into the Dockerfile's header comment); rename the file"
        )
    # a spec that is not there, or not a file that can be read, is a usage error (the path
    # given is wrong), not an invalid spec; a file too large to be one is an invalid spec
    try:
        data = read_regular(path, MAX_SPEC_BYTES)
    except FileNotFoundError:
        why = "a symlink to nothing" if is_dangling_symlink(path) else "give its path with --spec FILE or $SANDBOX_SPEC"
        raise UsageError(f"spec not found: {path} ({why})") from None
    except TooLarge as exc:
        raise SpecError([Problem(str(path), 1, 1, "", f"cannot read the spec: {exc.strerror or exc}")]) from None
    except OSError as exc:
        raise UsageError(f"cannot read the spec {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(str(path), 1, 1, "", f"not UTF-8 text ({exc.reason})")]) from None


def load_spec(path: str | Path) -> Spec:
    """Load and validate a spec file. Problems name the file as given."""
    path = Path(path)
    return parse_file(read_spec(path), path)


def parse_file(text: str, path: Path) -> Spec:
    """``parse`` for the text read from ``path``: the spec remembers where it came from."""
    return parse(text, str(path)).model_copy(update={"source": path})
