"""Option types shared by the commands: values range-checked before any work starts."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


class Seconds(click.ParamType):
    """A number of seconds in [low, high]; ``low_open``: low itself is not allowed.

    click's FloatRange lets NaN through (every comparison with NaN is false), and a NaN
    timeout turned timeouts off; infinity or 1e300 overflow the timers they reach."""

    name = "seconds"

    def __init__(self, low: float, high: float, *, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value, param, ctx) -> float:  # click's signature
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


def report_options(json_command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--compare OLD.json (an earlier ``json_command`` report) and --save FILE, as the
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
            help=f"Also show what changed since an earlier `{json_command}`.",
        )(func)

    return decorate


def not_an_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback for an option whose value docker gets as an argument (--builder,
    --network, --context, --docker-host): a value starting with '-' would read as an option
    where docker parses it, or as a flag where a wrapper does; exit 2 naming the option."""
    if value is not None and (not value or value.startswith("-")):
        raise click.BadParameter(f"{value!r}: a value starting with '-' (or empty) would be read as an option", ctx, param)
    return value
