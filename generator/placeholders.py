"""The {placeholders} of sandbox.yaml's templates, defined once: which exist, in which fields
each may be written, and how each is filled.

Templates are a release tool's ``url``, ``assets``, ``binaries[].path``, ``tree`` and
``checksum_file.url``, a deb tool's ``url`` and a script tool's ``url``; every other URL of
the spec takes none. The loader refuses any other placeholder (``{Version}``), a placeholder a
field does not fill, and a brace that opens or closes none, at the value (``fields.py`` applies
:func:`check` to each of those fields, and its patterns say the same in the JSON Schema).

Filling is one pass (:func:`fill`): each placeholder is replaced by its value, and a value is
never read again for placeholders. The generator fills everything. The one exception is
``{version}`` in a release stage: the stage hands files/sandbox-install-release the templates
with every other placeholder filled for each architecture, and the version once
(``--version``), so that a version bump changes one line of the Dockerfile; the script
replaces ``{version}`` with it, the same single replacement :func:`fill` makes, and nothing
else. The values that {asset} and {stem} stand for hold ``{version}`` unfilled at that point
({stem} drops the suffix the asset's template ends with), and a version holds no brace, so
filling the rest then the version gives what filling all at once gives
(tests/test_placeholders.py holds it to that; tests/supply/test_urls_built.py holds what
`sandbox lock` and `sandbox sbom` record to what the script fetches).

This module imports nothing of the generator: fields, methods and tests may all use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

#: placeholder -> what it stands for (the order is the one messages list them in)
PLACEHOLDERS: dict[str, str] = {
    "version": "the tool's version",
    "arch": "the architecture as Docker names it: amd64, arm64",
    "uname": "the architecture as `uname -m` prints it: x86_64, aarch64",
    "triple_arch": "the architecture of a target triple: x86_64, aarch64",
    "short": "the short spelling: x64, arm64",
    "asset": "the release asset's name for the architecture, filled",
    "stem": "that name without its archive suffix",
}

#: what the architecture placeholders stand for, per architecture of the spec
ARCH_VALUES: dict[str, dict[str, str]] = {
    "amd64": {"arch": "amd64", "uname": "x86_64", "triple_arch": "x86_64", "short": "x64"},
    "arm64": {"arch": "arm64", "uname": "aarch64", "triple_arch": "aarch64", "short": "arm64"},
}

#: the archive suffixes an asset name may end with, and the archive each means; {stem} is the
#: name without the one its template ends with (the suffix `archive` is read from, too)
ARCHIVE_SUFFIXES: dict[str, str] = {
    ".tar.gz": "tar.gz",
    ".tgz": "tar.gz",
    ".tar.xz": "tar.xz",
    ".txz": "tar.xz",
    ".tar.bz2": "tar.bz2",
    ".tbz": "tar.bz2",
    ".zip": "zip",
}

#: the placeholder files/sandbox-install-release fills (from --version), and only it
FILLED_AT_BUILD = "version"


@dataclass(frozen=True)
class Field:
    """A kind of template field: what it is called in messages and the placeholders it takes."""

    what: str
    allowed: tuple[str, ...]


_ARCH = ("arch", "uname", "triple_arch", "short")

#: a release's ``assets``: the asset cannot name itself
RELEASE_ASSET = Field("a release asset's name", ("version", *_ARCH))
#: a release's ``url``, ``checksum_file.url``, ``binaries[].path`` and ``tree``
RELEASE = Field("a release's URL, checksum file URL or path inside the archive", ("version", *_ARCH, "asset", "stem"))
#: a deb tool's ``url``
DEB_URL = Field("a .deb's URL", ("version", "arch"))
#: a script tool's ``url``
SCRIPT_URL = Field("an installer script's URL", ("version",))
#: URLs nothing is filled in (a git repository, an apt repository and its key, rustup's archive)
PLAIN_URL = Field("this URL", ())

_TOKEN = re.compile(r"\{([^{}]*)\}|[{}]")


def _listed(names: tuple[str, ...]) -> str:
    words = [f"{{{name}}}" for name in names]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def check(template: str, field: Field) -> str:
    """``template`` if every placeholder in it is one ``field`` fills, else a ValueError that
    names the first one that is not (or a brace outside a placeholder) and what is expected."""
    expected = f"expected {_listed(field.allowed)}" if field.allowed else f"no placeholders are filled in {field.what}"
    for match in _TOKEN.finditer(template):
        name = match.group(1)
        if name in field.allowed:
            continue
        if name is None:
            raise ValueError(f"a {match.group(0)!r} outside a {{placeholder}}: {expected}; got {template!r}")
        if not field.allowed:
            raise ValueError(f"{{{name}}} would be fetched as written: {expected}")
        if name in PLACEHOLDERS:
            raise ValueError(f"{{{name}}} is not filled in {field.what}: {expected}")
        hint = next((f" (did you mean {{{known}}}?)" for known in PLACEHOLDERS if known == name.lower()), "")
        raise ValueError(f"unknown placeholder {{{name}}}{hint}: {expected}")
    return template


def schema_pattern(field: Field) -> str:
    """A regex alternative that matches exactly the placeholders ``field`` takes ('' if none):
    what the JSON Schema's patterns allow between other characters."""
    return rf"\{{({'|'.join(field.allowed)})\}}" if field.allowed else ""


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each placeholder named in ``values`` replaced by its value, in one pass
    (a value is not read for placeholders again); any other placeholder is left as it is."""
    return _TOKEN.sub(lambda m: values.get(m.group(1) or "", m.group(0)), template)


def fill_version(template: str, version: str) -> str:
    """What files/sandbox-install-release does to every value it is given: {version} replaced."""
    return template.replace("{" + FILLED_AT_BUILD + "}", version)


def archive_suffix(asset: str) -> str:
    """The archive suffix ``asset`` (a name or its template) ends with, or ''."""
    return next((suffix for suffix in ARCHIVE_SUFFIXES if asset.endswith(suffix)), "")


def release_values(asset: str, arch: str, version: str | None) -> dict[str, str]:
    """What each placeholder of a release's templates stands for on ``arch``, given the asset
    name's template; with ``version`` None, {version} is left in (and in {asset} and {stem})
    for the script to fill."""
    values = {**({"version": version} if version is not None else {}), **ARCH_VALUES[arch]}
    stem = asset[: len(asset) - len(archive_suffix(asset))]
    return {**values, "asset": fill(asset, values), "stem": fill(stem, values)}
