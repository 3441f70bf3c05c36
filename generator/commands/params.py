"""The options the commands share, and option types that range-check values before any work starts."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    # click 8.4 made ParamType generic in the type it converts to; the floor we accept (8.1)
    # cannot subscript it at run time, so only the type checker sees the parameter
    _FloatParamType = click.ParamType[float]
else:
    _FloatParamType = click.ParamType


class Seconds(_FloatParamType):
    """A number of seconds in [low, high]; ``low_open``: low itself is not allowed.

    click's FloatRange lets NaN through (every comparison with NaN is false), and a NaN
    timeout turned timeouts off; infinity or 1e300 overflow the timers they reach."""

    name = "seconds"

    def __init__(self, low: float, high: float, *, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float) and math.isfinite(value):
            seconds = value
        else:
            try:
                seconds = float(str(value).strip())
            except ValueError:
                seconds = math.nan
        low_ok = seconds > self.low if self.low_open else seconds >= self.low
        if not (math.isfinite(seconds) and low_ok and seconds <= self.high):
            above = "more than" if self.low_open else "at least"
            self.fail(f"expected a number of seconds, {above} {self.low:g} and at most {self.high:g}; got {str(value)!r}", param, ctx)
        return seconds


def report_options(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--compare OLD.json (an earlier JSON report of ``command``) and --save FILE, as the
    parameters ``compare_with`` and ``save``, for the commands that report and compare."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option(
            "--save",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            metavar="FILE",
            help="Also write the JSON report to FILE (for a later --compare).",
        )(func)
        return click.option(
            "--compare",
            "compare_with",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            metavar="OLD.json",
            help=f"Also show what changed since an earlier `{command} --format json` (or --save).",
        )(func)

    return decorate


def not_an_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback for an option whose value docker gets as an argument (--builder,
    --network, --context, --docker-host): a value starting with '-' would read as an option
    where docker parses it, or as a flag where a wrapper does; exit 2 naming the option."""
    if value is not None and (not value or value.startswith("-")):
        raise click.BadParameter(f"{value!r}: a value starting with '-' (or empty) would be read as an option", ctx, param)
    return value


# The vocabulary every command shares (tests/test_cli_vocabulary.py holds it): one name, one
# meaning, one help text. A spelling a command used before keeps working as a hidden alias
# (DEPRECATED_ALIASES), so scripts written against it still run.

#: --profile of a command that acts on one image (build, cost, test, list, sbom)
PROFILE_HELP = "The image's profile (default: the spec's first profile)."
#: --profile of a command over the generated files (generate, check, lint)
PROFILES_HELP = "Only this profile's files (repeatable; default: every profile)."
#: --tag of every command that names the image it builds or pulls
TAG_HELP = "The image as NAME:TAG (default: the spec's image.name:image.tag)."
#: --format of every command that prints a report
FORMATS = ("text", "json", "markdown")
FORMAT_HELP = "Print the report as text (a table), json (for programs) or markdown (for a pull request)."
#: --no-cache of every command that builds the image (build, cost): the build cache, as docker's
#: own --no-cache; the result cache of generate and check is --no-result-cache
NO_CACHE_HELP = "Build without the build cache (BuildKit's cache mounts stay warm)."
#: --output of every command that prints a document it can write instead
OUTPUT_HELP = "Write to FILE (atomically) instead of standard output."

#: hidden spellings that still work: (command, alias) -> what it stands for
DEPRECATED_ALIASES = {
    ("generate", "--no-cache"): "--no-result-cache",
    ("check", "--no-cache"): "--no-result-cache",
    **{(name, "--json"): "--format json" for name in ("audit", "cost", "doctor", "list", "outdated", "test")},
    **{(name, "--markdown"): "--format markdown" for name in ("audit", "cost", "doctor", "list", "outdated", "test")},
    ("sbom", "--format"): "--standard",
}


def profile_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--profile NAME, one, as ``profile`` (None: the spec's first profile)."""
    return click.option("--profile", default=None, metavar="NAME", help=PROFILE_HELP)(func)


def profiles_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--profile NAME, repeatable, as ``profiles`` (empty: every profile)."""
    return click.option("--profile", "profiles", multiple=True, metavar="NAME", help=PROFILES_HELP)(func)


def tag_option(extra_help: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--tag NAME:TAG, as ``tag`` (None: the spec's image.name:image.tag)."""
    return click.option("--tag", default=None, metavar="NAME:TAG", help=TAG_HELP + extra_help)


def output_option(extra_help: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--output FILE, as ``output`` (None: standard output)."""
    return click.option(
        "--output",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        metavar="FILE",
        help=OUTPUT_HELP + extra_help,
    )


def _given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source is not ParameterSource.DEFAULT


def format_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--format text|json|markdown as ``output_format``; --json and --markdown, the spellings
    before --format, still work (hidden). Naming two different formats is a usage error."""

    @click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True, help=FORMAT_HELP)
    @click.option("--json", "json_alias", is_flag=True, hidden=True, help="Same as --format json (the spelling before --format).")
    @click.option(
        "--markdown", "markdown_alias", is_flag=True, hidden=True, help="Same as --format markdown (the spelling before --format)."
    )
    @functools.wraps(func)
    def wrapper(*args: Any, output_format: str, json_alias: bool, markdown_alias: bool, **kwargs: Any) -> Any:
        asked = [f"--format {output_format}"] if _given(click.get_current_context(), "output_format") else []
        asked += [spelling for spelling, given in (("--json", json_alias), ("--markdown", markdown_alias)) if given]
        formats = {spelling.removeprefix("--format ").removeprefix("--") for spelling in asked}
        if len(formats) > 1:
            raise click.UsageError(f"{' and '.join(asked)}: choose one")
        return func(*args, output_format=formats.pop() if formats else output_format, **kwargs)

    return wrapper


def format_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--format text|json|markdown as ``output_format``, for a command that came after --format
    (without the hidden spellings before it)."""
    return click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True, help=FORMAT_HELP)(func)


SIGN_BY_HELP = (
    "Also sign the pushed digest with this GnuPG key (its fingerprint; the key is taken from $GNUPGHOME) "
    "and attach the signature (skopeo's simple signing; `sandbox verify --key` checks it)."
)


def sign_by_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--sign-by FINGERPRINT as ``sign_by`` (build --push and attest)."""
    return click.option("--sign-by", default=None, metavar="FINGERPRINT", help=SIGN_BY_HELP)(func)


def result_cache_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--no-result-cache as ``no_result_cache``; --no-cache, its earlier spelling, still works
    here (hidden): build and cost use that name for the build cache."""

    @click.option(
        "--no-result-cache",
        is_flag=True,
        help="Neither use nor record the result cache ($XDG_CACHE_HOME/opencode-sandbox/results); SANDBOX_NO_CACHE=1 does the same.",
    )
    @click.option("--no-cache", "no_cache_alias", is_flag=True, hidden=True, help="Same as --no-result-cache (its spelling before).")
    @functools.wraps(func)
    def wrapper(*args: Any, no_result_cache: bool, no_cache_alias: bool, **kwargs: Any) -> Any:
        return func(*args, no_result_cache=no_result_cache or no_cache_alias, **kwargs)

    return wrapper
