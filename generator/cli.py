"""The `sandbox` command. Errors are turned into messages and exit codes here, only here."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from generator.errors import ExitCode, SandboxError, SpecError
from generator.terminal import escape_controls


class _LazyGroup(click.Group):
    """Imports a commands module when one of its commands is asked for (and all of them
    for --help). The other command modules import the project (pydantic models, ruamel,
    Jinja): imported up front they would add ~190 ms to a `generate` or `check` answered
    from the result cache (~60 ms), and ~3 ms to one that is not (bench/generator_speed.py,
    "What a cache hit imports"). It earns its place as long as the result cache does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command_modules: list[str] = []
        self._loaded: set[str] = set()

    def _load(self, module_name: str) -> None:
        if module_name not in self._loaded:
            self._loaded.add(module_name)
            for command in importlib.import_module(module_name).COMMANDS:
                self.add_command(command)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module_name in self.command_modules:
            if cmd_name in self.commands:
                break
            self._load(module_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module_name in self.command_modules:
            self._load(module_name)
        return super().list_commands(ctx)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--spec",
    type=click.Path(path_type=Path, dir_okay=False),
    default=lambda: os.environ.get("SANDBOX_SPEC", "sandbox.yaml"),
    show_default="sandbox.yaml or $SANDBOX_SPEC",
    help="The spec file.",
)
@click.version_option(package_name="opencode-sandbox")
@click.pass_context
def cli(ctx: click.Context, spec: Path) -> None:
    """Generate, check and lint the opencode sandbox Dockerfile from sandbox.yaml.

    \b
    Exit codes: 0 ok; 1 drift, lint findings or failed checks; 2 invalid or missing spec, or usage;
    3 something outside failed (Docker engine, registry, upstream host, hadolint);
    70 internal error; 130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["spec"] = spec


def _register() -> None:
    """The modules whose COMMANDS make up `sandbox`, in the order they are searched."""
    cli.command_modules.extend(
        [
            "generator.commands.spec",
            "generator.commands.docker",
            "generator.commands.build",
            "generator.commands.cost",
            "generator.commands.supply",
            "generator.commands.attest",
        ]
    )


_register()


def main(argv: list[str] | None = None) -> int:
    from generator import cache

    try:
        return _main(argv)
    finally:
        cache.reset()  # a --no-cache given to this command does not outlive it (in-process runs)


def _main(argv: list[str] | None) -> int:
    try:
        code = cli.main(args=argv, prog_name="sandbox", standalone_mode=False)
        return code if isinstance(code, int) else ExitCode.OK
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"error: the spec is invalid ({len(exc.problems)} problem(s)); nothing was written", err=True)
        return exc.exit_code
    except SandboxError as exc:
        # a message may quote a path, key or URL: no control character reaches the terminal
        # raw (only the line breaks of messages that have several lines)
        click.echo(f"error: {escape_controls(str(exc), keep=chr(10))}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        # it may quote an argument as given; click declares message Final but reads it only in show()
        exc.message = escape_controls(exc.message)  # type: ignore[misc]
        exc.show()
        return ExitCode.USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception:  # noqa: BLE001 - the one place that turns bugs into an exit code
        import traceback

        traceback.print_exc()
        click.echo("internal error: this is a bug in sandbox; please report it with the traceback above", err=True)
        return ExitCode.INTERNAL


#: objects allocated (less those freed) between two runs of the cyclic garbage collector's
#: youngest generation; Python's default is 700
GC_YOUNG_THRESHOLD = 100_000


def run() -> None:
    # A cold `sandbox generate` creates its modules, classes, validators and the YAML tree,
    # which live until exit: at the default threshold the collector runs ~110 times over
    # them and frees ~660 objects in all. At 100,000 it runs a few times, ~20 ms less CPU
    # (bench/generator_speed.py), and reference cycles are still collected in a long
    # `sandbox build`. Only the command sets it: a program importing generator keeps its own.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    sys.exit(main())
