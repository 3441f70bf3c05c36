"""Constrained string types for every spec value that reaches a shell or a Dockerfile line.

The rule: a value that lands in a shell command or a Dockerfile instruction is either
matched against a narrow pattern here, or is free text that the renderer quotes (labels,
env values, descriptions). Control characters are refused everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler, StrictStr, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from generator import placeholders
from generator.terminal import is_control, is_deceptive


@dataclass(frozen=True)
class _Pattern:
    """A string constraint: the whole value matches ``regex``, else a message saying what was
    expected. The JSON Schema carries it too (as ``pattern``, anchored, and the expectation as
    the description), so an editor flags a bad value as it is typed. The regexes use only
    what Python and ECMA-262 read alike: classes, groups, alternation, counted repeats."""

    regex: str
    expected: str

    def check(self, value: str) -> str:
        if not re.fullmatch(self.regex, value):  # re caches compiled patterns
            raise ValueError(f"expected {self.expected}; got {value!r}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = f"^(?:{self.regex})$"
        json_schema.setdefault("description", f"{self.expected[0].upper()}{self.expected[1:]}")
        return json_schema


def _pattern(regex: str, expected: str) -> _Pattern:
    return _Pattern(regex, expected)


@dataclass(frozen=True)
class _Placeholders:
    """A template field: only the {placeholders} ``field`` fills (generator/placeholders.py),
    refused with what is expected otherwise. Checked before the field's pattern, whose regex
    (for the JSON Schema) admits exactly those placeholders too."""

    field: placeholders.Field

    def check(self, value: str) -> str:
        return placeholders.check(value, self.field)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))


def _or(chars: str, field: placeholders.Field) -> str:
    """One character of ``chars`` (a regex class's inside), or one placeholder ``field`` takes."""
    alternative = placeholders.schema_pattern(field)
    return f"([{chars}]|{alternative})" if alternative else f"[{chars}]"


def _no_control_chars(value: str) -> str:
    bad = [c for c in value if is_control(c)]
    if bad:
        raise ValueError(f"control characters are not allowed (found {bad[0]!r})")
    hidden = [c for c in value if is_deceptive(c)]
    if hidden:
        # text shown in comments, labels, tables and pull requests must read as it is
        raise ValueError(f"bidirectional and invisible characters are not allowed (found U+{ord(hidden[0]):04X})")
    return value


#: names that follow whatever is newest (a tool version, a branch, an image tag)
MOVING_NAMES = frozenset(
    {"latest", "stable", "lts", "current", "nightly", "master", "main", "head", "rolling", "edge", "devel",
     "dev", "testing", "unstable", "sid", "canary", "next", "experimental", "mainline"}
)  # fmt: skip


def _not_latest(value: str) -> str:
    if value.lower() in MOVING_NAMES:
        raise ValueError(f"a moving version ({value!r}) is not allowed; pin an exact version")
    return value


def moving_tag_word(tag: str) -> str | None:
    """The word that makes an image tag move (``lts`` in node:lts-slim), or None. Tags are
    words joined by '-', '_' or '.', and a moving word anywhere moves the whole tag."""
    return next((word for word in re.split(r"[-_.]", tag.lower()) if word in MOVING_NAMES), None)


#: Free text (labels, descriptions, env values): quoted by the renderer, so any printable
#: character is fine, but for the bidirectional and invisible ones (text must read as it is).
Text = Annotated[StrictStr, AfterValidator(_no_control_chars)]


def _lintable_backslashes(value: str) -> str:
    # hadolint's Dockerfile parser reads a backslash-escaped backslash that is followed by
    # a quote ("x\\" or "x\\\"y") as an escaped quote and fails the file (DL1000), though
    # BuildKit reads it right; single quotes fail the same way, and an unquoted backslash at
    # the end of a line is a line continuation for BuildKit. No spelling passes both.
    if value.endswith("\\") or '\\"' in value:
        where = "at the end" if value.endswith("\\") else "before a '\"'"
        raise ValueError(
            f"a backslash {where} cannot be written into the Dockerfile so that `sandbox lint` "
            "(hadolint) can read it; remove it or put another character after it"
        )
    return value


#: Free text written as a double-quoted Dockerfile word (labels, env values).
DockerfileText = Annotated[Text, AfterValidator(_lintable_backslashes)]

#: Why a tool is disabled, unverified, or runs upstream code: shown in comments and tables.
Reason = Annotated[StrictStr, StringConstraints(min_length=3), AfterValidator(_no_control_chars)]

Name = Annotated[
    StrictStr,
    _pattern(r"[a-z0-9][a-z0-9._-]{0,62}", "a lowercase name: letters, digits, '.', '_', '-' (max 63)"),
]

Version = Annotated[
    StrictStr,
    _pattern(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,79}", "an exact version: letters, digits, '.', '_', '+', '~', '-'"),
    AfterValidator(_not_latest),
]

#: a file mode for COPY --chmod, in octal
FileMode = Annotated[StrictStr, _pattern(r"0?[0-7]{3}", 'an octal file mode such as "0755"')]
Sha256 = Annotated[StrictStr, _pattern(r"[0-9a-f]{64}", "a sha256 digest: 64 lowercase hex digits")]
ImageDigest = Annotated[StrictStr, _pattern(r"sha256:[0-9a-f]{64}", "an image digest: sha256: and 64 hex digits")]
GitCommit = Annotated[StrictStr, _pattern(r"[0-9a-f]{40}", "a full git commit id: 40 lowercase hex digits")]

_URL_EXPECTED = "an http(s) URL without quotes, spaces or shell metacharacters"


def _url(field: placeholders.Field) -> str:
    return rf"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/{_or('A-Za-z0-9._~:/?#@!+,=%-', field)}*)?"


#: URLs, and URL templates whose {placeholders} the generator fills (which ones:
#: generator/placeholders.py); no quotes, spaces, `$`, backticks, `;`, `&`, `|`, `<`, `>` or
#: backslashes, so they cannot break out of a shell word.
Url = Annotated[StrictStr, _Placeholders(placeholders.PLAIN_URL), _pattern(_url(placeholders.PLAIN_URL), _URL_EXPECTED)]
ReleaseUrl = Annotated[StrictStr, _Placeholders(placeholders.RELEASE), _pattern(_url(placeholders.RELEASE), _URL_EXPECTED)]
DebUrl = Annotated[StrictStr, _Placeholders(placeholders.DEB_URL), _pattern(_url(placeholders.DEB_URL), _URL_EXPECTED)]
ScriptUrl = Annotated[StrictStr, _Placeholders(placeholders.SCRIPT_URL), _pattern(_url(placeholders.SCRIPT_URL), _URL_EXPECTED)]

#: A relative file name (ProjectPath's characters). Never starting with '-': as a COPY
#: source that would read as a flag.
AssetPath = Annotated[
    StrictStr,
    _pattern(
        r"[A-Za-z0-9._+{}@][A-Za-z0-9._+{}@/-]*",
        "a relative file name: letters, digits, '.', '_', '+', '-', '/' (not starting with '-')",
    ),
]

# One part of a path that is neither '.' nor '..' (nor empty): such a part makes the path
# lead elsewhere than it reads (`~/..` is /home, `//home/x` dodges a prefix check), and it
# is spelled without lookahead so the JSON Schema's pattern says the same. ``first`` is the
# character class a part may start with (besides '.').
_PART_CHARS = "A-Za-z0-9._+@-"


def _part(chars: str, first: str) -> str:
    return rf"([{first}][{chars}]*|\.[{first}][{chars}]*|\.\.[{chars}]+)"


_PART = _part(_PART_CHARS, "A-Za-z0-9_+@-")
_NORMAL = "no '.' or '..' parts, no '//'"


def _template_part(chars: str, first: str, field: placeholders.Field) -> str:
    """_part, where a placeholder ``field`` takes may stand for any character."""
    char, start = _or(chars, field), _or(first, field)
    return rf"({start}{char}*|\.{start}{char}*|\.\.{char}+)"


#: A release's asset: the name of one file (the download is written under it), possibly
#: templated ({version} and the arch names). Not starting with '.': so a {stem} filled from
#: it is never '.' or '..', and every placeholder fills to a word starting with a letter or
#: digit, so a normal template stays normal once filled.
AssetName = Annotated[
    StrictStr,
    _Placeholders(placeholders.RELEASE_ASSET),
    _pattern(
        f"{_or('A-Za-z0-9_+@', placeholders.RELEASE_ASSET)}{_or('A-Za-z0-9._+@-', placeholders.RELEASE_ASSET)}*",
        "an asset file name: letters, digits, '.', '_', '+', '-', '@' and {placeholders} (no '/'; not starting with '.' or '-')",
    ),
]

#: A path inside a release archive (binaries[].path, tree), possibly templated: relative,
#: normal, and not starting with '-'.
ArchivePath = Annotated[
    StrictStr,
    _Placeholders(placeholders.RELEASE),
    _pattern(
        rf"{_template_part('A-Za-z0-9._+@-', 'A-Za-z0-9_+@', placeholders.RELEASE)}"
        rf"(/{_template_part('A-Za-z0-9._+@-', 'A-Za-z0-9_+@-', placeholders.RELEASE)})*/?",
        f"a relative path inside the archive: letters, digits, '.', '_', '+', '-', '@', '/' and {{placeholders}} "
        f"(not starting with '/' or '-'; {_NORMAL})",
    ),
]


def _inside(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"a path inside the spec's directory (no leading '/', no '..'); got {value!r}")
    return value


#: A file of the project, relative to the spec's directory and never outside it.
ProjectPath = Annotated[AssetPath, AfterValidator(_inside)]


AbsPath = Annotated[
    StrictStr,
    _pattern(
        rf"/({_PART}(/{_PART})*/?)?",
        f"an absolute path: letters, digits, '.', '_', '+', '@', '-', '/' ({_NORMAL})",
    ),
]

#: a program sudo may run as root for the user (a sudoers command: its absolute path, any
#: arguments); no trailing '/', which sudoers reads as every program in that directory
SudoCommand = Annotated[
    StrictStr,
    _pattern(
        rf"/{_PART}(/{_PART})*",
        f"an absolute path of a program, e.g. /usr/bin/apt-get: letters, digits, '.', '_', '+', '@', '-', '/' ({_NORMAL}, "
        "not ending in '/')",
    ),
]

#: a directory in the image: absolute, or ~ / ~/... for the user's home (never ~name:
#: that is another user's home in a shell, and the renderer would splice the name on),
#: normal, so `~/..` cannot climb out of the home
HomePath = Annotated[
    StrictStr,
    _pattern(
        rf"~(/{_PART})*/?|/({_PART}(/{_PART})*/?)?",
        f"an absolute path, ~ or a path under ~/ (not ~name; {_NORMAL})",
    ),
]

#: top-level directories of the system (the FHS's and the usual extras), never owned by the user
SYSTEM_DIRS = frozenset(
    {"bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt", "proc",
     "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var"}
)  # fmt: skip
#: the ones whose every file root runs, reads as configuration, or keeps as its own: the
#: user owns nothing inside them (owning /etc/sudoers.d or /usr/local/bin is being root)
ROOT_TREES = frozenset({"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "root", "sbin", "sys", "usr"})


def system_directory(path: str) -> str | None:
    """Why the user must not own ``path`` (absolute and normal, as HomePath and AbsPath
    allow), or None: the root, a top-level directory of the system or one directly under
    /var (/var/lib, /var/log), or anything in a tree of root's own."""
    parts = [part for part in path.split("/") if part]
    if not parts:
        return "is the root directory"
    if parts[0] == "root":
        return "is in root's home" if len(parts) > 1 else "is root's home"
    if parts[0] in ROOT_TREES:
        return f"is {'inside /' + parts[0] + ', which' if len(parts) > 1 else 'a directory that'} belongs to the system"
    if (len(parts) == 1 and parts[0] in SYSTEM_DIRS) or (len(parts) == 2 and parts[0] == "var"):
        return "is a directory of the system"
    return None


BinaryName = Annotated[StrictStr, _pattern(r"[A-Za-z0-9][A-Za-z0-9._+-]*", "a command name")]

EnvName = Annotated[StrictStr, _pattern(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name")]

#: label key namespaces Docker reserves for itself (hadolint DL3048 refuses them)
_RESERVED_LABEL_NAMESPACES = ("com.docker.", "io.docker.", "org.dockerproject.")


def _label_key(key: str) -> str:
    """What Docker's label key recommendation (and hadolint's DL3048, which `sandbox lint`
    runs) asks beyond the pattern: no '..' or '--', and none of Docker's own namespaces."""
    if ".." in key or "--" in key:
        raise ValueError(f"a label key has no '..' or '--' (Docker's label key format); got {key!r}")
    if key.startswith(_RESERVED_LABEL_NAMESPACES):
        raise ValueError(f"label keys in {', '.join(_RESERVED_LABEL_NAMESPACES)} are Docker's own; got {key!r}")
    return key


LabelKey = Annotated[
    StrictStr,
    _pattern(r"[a-z]([a-z0-9.-]*[a-z0-9])?", "a label key: a lowercase letter, then lowercase letters, digits, '.', '-'"),
    AfterValidator(_label_key),
]

#: an image repository name; it starts with a letter or digit, so as a docker argument it
#: can never be read as an option
_IMAGE_NAME = r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
_IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
#: the repository name's pattern, for modules that parse a reference made of several parts
IMAGE_NAME_PATTERN = _IMAGE_NAME

ImageName = Annotated[
    StrictStr,
    _pattern(_IMAGE_NAME, "an image repository name such as ubuntu or ghcr.io/owner/name"),
]

ImageTag = Annotated[StrictStr, _pattern(_IMAGE_TAG, "an image tag")]


def _pinned_builder(value: str) -> str:
    tag = value.split("@", maxsplit=1)[0].rsplit(":", 1)[1]
    word = moving_tag_word(tag)
    if word:
        moves = f"the '{tag}' tag moves" if word == tag.lower() else f"the '{tag}' tag moves ({word})"
        raise ValueError(f"{moves}; pin a release tag")
    return value


#: a builder stage's image: name:tag, optionally @digest, with a tag that does not move
BuilderImage = Annotated[
    StrictStr,
    _pattern(rf"{_IMAGE_NAME}:{_IMAGE_TAG}(@sha256:[0-9a-f]{{64}})?", "image:tag[@digest]"),
    AfterValidator(_pinned_builder),
]

#: an image named on the command line (`sandbox test IMAGE`, `build --tag`): name[:tag][@digest]
#: or an image id, never starting with '-' (docker would read it as an option), no spaces
#: or control characters
ImageReference = Annotated[
    StrictStr,
    _pattern(
        r"[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}",
        "an image reference such as name:tag, name@sha256:<digest> or an image id (not starting with '-')",
    ),
]

AptPackage = Annotated[
    StrictStr,
    _pattern(
        r"[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:*-]+)?",
        "an apt package, optionally pinned as name=version (e.g. zsh or zsh=5.9-*)",
    ),
]

NpmPackage = Annotated[StrictStr, _pattern(r"(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*", "an npm package name")]
PypiPackage = Annotated[StrictStr, _pattern(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", "a PyPI project name")]
CrateName = Annotated[StrictStr, _pattern(r"[A-Za-z0-9][A-Za-z0-9_-]*", "a crate name")]
#: Every pattern above that reaches a program's argument list starts with a letter, a digit
#: (or '/', '~', '_', '@', '{' where the program reads no option from it), so no value is
#: read as an option; tests/test_property_options.py holds every pattern of the schema to it.
GoPackage = Annotated[
    StrictStr,
    _pattern(
        r"[a-z0-9][a-z0-9.-]*\.[a-z]+(/[A-Za-z0-9._~-]+)*",
        "a Go package path such as mvdan.cc/sh/v3/cmd/shfmt (not starting with '-' or '.')",
    ),
]

#: One word of a command that the smoke test runs (e.g. ``--version``).
CommandWord = Annotated[StrictStr, _pattern(r"[A-Za-z0-9._/=:+@-]+", "a command word without shell metacharacters")]

Duration = Annotated[StrictStr, _pattern(r"[0-9]+(ms|s|m|h)", "a duration such as 30s or 5m")]

Platform = Annotated[StrictStr, _pattern(r"linux/(amd64|arm64)", "linux/amd64 or linux/arm64")]
