"""The install-method boundary (generator/methods/protocol.py) holds:

- the protocol is split by concern: ToolEntry, RenderHooks, SupplyHooks and SbomHooks each
  declare their own hooks, none twice, and InstallMethod is exactly their union;
- every registered method satisfies each of them (a sample tool of each method is an
  instance of every protocol, and its class has every hook);

- nothing outside generator/methods/ branches on a method: no comparison with a method's
  name or with a tool's ``.method``, no lookup keyed by it, no collecting the methods in use,
  no isinstance/type test against a tool class, no probing for hooks with getattr/hasattr,
  no import of a method's module or of a tool class (only generator/methods/registry.py
  names them all);
- every registered method is registered under the name its ``method:`` literal carries;
- the methods sit below the renderer and the commands: they import neither at run time.

The scanner is tested on the branches it replaced, so a scan that finds nothing means
something.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from generator.methods.base import ToolBase
from generator.methods.data import TemplateData
from generator.methods.protocol import CONCERNS, InstallMethod
from generator.methods.registry import REGISTRY
from tests.integration.small_specs import SAMPLE_TOOLS, STAGE_BASE, load, spec_data

GENERATOR = Path(__file__).resolve().parent.parent / "generator"
METHODS = GENERATOR / "methods"
TEMPLATES = GENERATOR.parent / "templates"
METHOD_NAMES = frozenset(REGISTRY)
TOOL_CLASSES = frozenset({cls.__name__ for cls in REGISTRY.values()} | {ToolBase.__name__})
#: the modules that hold one method each (generator.methods.apt, ...)
METHOD_MODULES = frozenset(cls.__module__ for cls in REGISTRY.values())


def _declared(protocol: type) -> frozenset[str]:
    """What one protocol declares itself: data fields, methods and properties a caller may use."""
    names = {*vars(protocol), *vars(protocol).get("__annotations__", {})}
    return frozenset(name for name in names if not name.startswith("_"))


#: each concern's hooks, and all of them: what InstallMethod offers a caller
HOOKS_BY_CONCERN = {protocol.__name__: _declared(protocol) for protocol in CONCERNS}
HOOKS = frozenset().union(*HOOKS_BY_CONCERN.values())


def _names_a_method(node: ast.AST) -> bool:
    """A method's name as a constant, alone or inside a tuple/list/set literal."""
    if isinstance(node, ast.Constant):
        return node.value in METHOD_NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_a_method(e) for e in node.elts)
    return False


def _is_method_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "method"


def _names_a_tool_class(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in TOOL_CLASSES
    if isinstance(node, ast.Attribute):
        return node.attr in TOOL_CLASSES
    if isinstance(node, ast.Tuple):
        return any(_names_a_tool_class(e) for e in node.elts)
    return False


def branches_on_methods(source: str) -> list[str]:
    """Every place in ``source`` that decides something by install method, as 'line: what'."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_names_a_method(o) or _is_method_attribute(o) or _names_a_tool_class(o) for o in operands):
                found.append(f"{line}: comparison with a method")
        elif isinstance(node, (ast.SetComp, ast.ListComp, ast.GeneratorExp)) and _is_method_attribute(node.elt):
            found.append(f"{line}: collects the methods in use")
        elif isinstance(node, ast.Subscript) and _is_method_attribute(node.slice):
            found.append(f"{line}: lookup keyed by .method")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = node.args
            if node.func.id in ("isinstance", "issubclass") and len(args) == 2 and _names_a_tool_class(args[1]):
                found.append(f"{line}: {node.func.id} against a tool class")
            elif (
                node.func.id in ("getattr", "hasattr")
                and len(args) >= 2
                and isinstance(args[1], ast.Constant)
                and (args[1].value == "method" or args[1].value in HOOKS)
            ):
                found.append(f"{line}: {node.func.id}(..., {args[1].value!r}) probes a tool")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            if node.args and _is_method_attribute(node.args[0]):
                found.append(f"{line}: lookup keyed by .method")
        elif isinstance(node, ast.match_case) and isinstance(node.pattern, ast.MatchValue):
            if _names_a_method(node.pattern.value):
                found.append(f"{line}: match case on a method name")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("generator.methods"):
            if node.module in METHOD_MODULES:
                found.append(f"{line}: imports the method module {node.module}")
            for alias in node.names:
                if alias.name in TOOL_CLASSES - {ToolBase.__name__} or f"{node.module}.{alias.name}" in METHOD_MODULES:
                    found.append(f"{line}: imports {alias.name} of a method")
        elif isinstance(node, ast.Import):
            found += [f"{line}: imports the method module {a.name}" for a in node.names if a.name in METHOD_MODULES]
    return found


def _outside_methods() -> list[Path]:
    return sorted(p for p in GENERATOR.rglob("*.py") if METHODS not in p.parents)


@pytest.mark.parametrize("path", _outside_methods(), ids=lambda p: str(p.relative_to(GENERATOR)))
def test_no_branching_on_methods_outside_generator_methods(path: Path):
    assert branches_on_methods(path.read_text(encoding="utf-8")) == [], f"{path}: move this into the method's hooks"


@pytest.mark.parametrize(
    "source",
    [
        # the branches the hooks replaced (supply/sources.py, outdated.py, audit.py, lock.py, render.py)
        'if tool.method == "npm":\n    pass',
        'if method in ("release", "script"):\n    pass',
        'mise_partial = tool.method == "mise" and True',
        "methods = {t.method for t in spec.tools if t.enabled}",
        'combine = getattr(kind, "combine", None)',
        'if getattr(tool, "method", None) == "git":\n    pass',
        "if isinstance(tool, GitTool):\n    pass",
        "if type(tool) is AptTool:\n    pass",
        "builder = BUILDERS[tool.method]",
        "builder = BUILDERS.get(tool.method)",
        'match tool.method:\n    case "git":\n        pass',
        "from generator.methods.apt import AptTool",
        "from generator.methods.apt import base_components",
        "import generator.methods.deb",
        "from generator.methods import deb",
    ],
)
def test_the_scanner_finds_each_kind_of_branch(source: str):
    assert branches_on_methods(source), source


@pytest.mark.parametrize(
    "source",
    [
        # showing a method, or a word that happens to be a method's name, is not a decision
        'row = {"method": tool.method}',
        'label = f"{c.method}"',
        'DEFAULTS = {"npm": "https://registry.npmjs.org"}',
        'validator = field_validator("cargo", "go")',
        "image = tool.builder_image(ctx)",
        "from generator.methods.distribution import base_components",
        "from generator.methods import REGISTRY, InstallMethod",
        "from generator.methods.registry import REGISTRY, Tool",
        "from generator.methods.protocol import RenderHooks, SupplyHooks",
    ],
)
def test_the_scanner_leaves_what_only_shows_a_method(source: str):
    assert branches_on_methods(source) == []


#: the hooks the renderer, the supply commands and the SBOM rely on, each under its concern
EXPECTED_CONCERNS = {
    "ToolEntry": {"name", "method", "enabled", "profiles", "in_profile", "commands", "platform_issues", "home_paths", "requires"},
    "RenderHooks": {"phase", "stage_name", "contribute", "combine", "builder_image", "base_packages_needed", "base_scripts_needed"},
    "SupplyHooks": {"verification", "downloads", "spec_sha256", "checksum_file_for", "audit", "upstream", "tracked"},
    "SbomHooks": {"purl", "sbom_components", "shown_version"},
}


@pytest.mark.parametrize("concern", sorted(EXPECTED_CONCERNS))
def test_each_concern_declares_its_hooks(concern: str):
    # a protocol that lost a hook would let a method drop it silently; one that grew a hook
    # of another concern would no longer be small
    assert EXPECTED_CONCERNS[concern] <= HOOKS_BY_CONCERN[concern]
    others = set().union(*(hooks for name, hooks in EXPECTED_CONCERNS.items() if name != concern))
    assert HOOKS_BY_CONCERN[concern] & others == set()


def test_no_hook_is_declared_by_two_concerns_and_install_method_is_their_union():
    declared = [hook for hooks in HOOKS_BY_CONCERN.values() for hook in hooks]
    assert sorted(declared) == sorted(set(declared))
    # InstallMethod adds nothing of its own: every hook has one concern
    assert _declared(InstallMethod) == frozenset()
    assert set(InstallMethod.__mro__) >= set(CONCERNS)
    assert {name for name in HOOKS if hasattr(InstallMethod, name) or name in typing.get_type_hints(InstallMethod)} == HOOKS


@pytest.mark.parametrize("concern", CONCERNS, ids=lambda c: c.__name__)
def test_every_hook_says_what_it_means(concern: type):
    for name, member in vars(concern).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(member) or isinstance(member, (property, classmethod)):
            function = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
            assert (function.__doc__ or "").strip(), f"{concern.__name__}.{name} has no docstring"


def test_the_samples_cover_every_registered_method():
    assert set(SAMPLE_TOOLS) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_a_tool_of_each_method_satisfies_each_protocol(name: str):
    spec = load(spec_data(SAMPLE_TOOLS[name], base=STAGE_BASE))
    tool = spec.tools[-1]  # after the base spec's support tool
    assert type(tool) is REGISTRY[name]
    for protocol in (*CONCERNS, InstallMethod):
        assert isinstance(tool, protocol), f"{type(tool).__name__} is no {protocol.__name__}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_registered_method_provides_every_hook(name: str):
    cls = REGISTRY[name]
    missing = sorted(hook for hook in HOOKS if not hasattr(cls, hook) and hook not in cls.model_fields)
    assert missing == [], f"{cls.__name__} lacks {missing}"
    # the two hooks without a default: what it renders and how its bytes are checked
    for hook in ("contribute", "verification"):
        assert getattr(cls, hook) is not getattr(ToolBase, hook), f"{cls.__name__} must override {hook}"
    assert typing.get_args(cls.model_fields["method"].annotation) == (name,)


def _template_data(module: str) -> list[type[TemplateData]]:
    found = [cls for cls in vars(importlib.import_module(module)).values() if isinstance(cls, type) and issubclass(cls, TemplateData)]
    return [cls for cls in found if cls.__module__ == module and "template" in vars(cls)]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_method_lays_out_its_data_with_templates_of_its_own(name: str):
    # templates/methods/NAME.j2, or NAME-PART.j2 for a method with more than one (deb's fetch stage)
    laid_out = _template_data(REGISTRY[name].__module__)
    assert laid_out, f"{name}: no TemplateData with a template"
    for cls in laid_out:
        assert re.fullmatch(rf"methods/{name}(-[a-z]+)?\.j2", cls.template), f"{cls.__name__}.template = {cls.template}"
        assert (TEMPLATES / cls.template).is_file(), f"{cls.__name__}: no {cls.template}"


#: what the methods may not import at run time: everything that sits above them
ABOVE_THE_METHODS = ("generator.render", "generator.spec", "generator.loader", "generator.supply",
                     "generator.commands", "generator.sbom", "generator.cli", "generator.project")  # fmt: skip


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks."""
    modules: list[str] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom):
                modules.append(node.module or "")
            elif isinstance(node, ast.Import):
                modules.extend(alias.name for alias in node.names)
            for field in ("body", "orelse", "handlers", "finalbody"):
                visit(getattr(node, field, []) or [])

    visit(tree.body)
    return modules


@pytest.mark.parametrize("path", sorted(METHODS.glob("*.py")), ids=lambda p: p.name)
def test_methods_import_nothing_above_them(path: Path):
    imports = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
    assert [m for m in imports if m.startswith(ABOVE_THE_METHODS)] == []


@pytest.mark.parametrize("path", sorted(p for p in METHODS.glob("*.py") if p.name != "registry.py"), ids=lambda p: p.name)
def test_only_the_registry_imports_the_methods(path: Path):
    # a method knows no other method, and the shared modules (base, protocol, context, data,
    # distribution) know none: adding or removing a method touches its module and one line
    # of the registry
    own = f"generator.methods.{path.stem}"
    imports = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
    assert [m for m in imports if m in METHOD_MODULES and m != own] == []


def _own_fields_named_after_a_method(module: str) -> list[str]:
    """Fields that the models of ``module`` declare themselves (not inherit) and whose name
    is a method's, alone or as its first word (cargo, apt_pins)."""
    found = []
    for cls in vars(importlib.import_module(module)).values():
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == module:
            found += [f"{cls.__name__}.{field}" for field in vars(cls).get("__annotations__", {}) if field.split("_")[0] in METHOD_NAMES]
    return found


def test_the_scan_for_method_settings_finds_one():
    assert _own_fields_named_after_a_method("generator.methods.apt") == ["AptPolicy.apt_pins"]


def test_the_settings_a_method_reads_live_in_its_module():
    # builders.cargo, policy.apt_pins: declared by the method (CargoBuilder, AptPolicy) and
    # gathered by the registry, never declared by the spec
    assert set(_own_fields_named_after_a_method("generator.spec")) == set(NOT_A_METHOD_SETTING)


#: fields of the spec whose name happens to be a method's, and what they are instead
NOT_A_METHOD_SETTING = {
    "Healthcheck.script": "the program the health check runs",
    "Provider.npm": "the AI SDK package of a model provider",
}
