"""The `sandbox` command. Errors are turned into messages and exit codes here, only here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from generator.errors import ExitCode, SandboxError, SpecError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    Exit codes: 0 ok; 1 drift, lint findings or failed checks; 2 invalid spec or usage;
    3 Docker engine or registry error; 70 internal error; 130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["spec"] = spec


def _register() -> None:
    from generator.commands import spec as spec_commands

    for command in spec_commands.COMMANDS:
        cli.add_command(command)
    from generator.commands import docker as docker_commands

    for command in docker_commands.COMMANDS:
        cli.add_command(command)
    from generator.commands import build as build_commands

    for command in build_commands.COMMANDS:
        cli.add_command(command)
    from generator.commands import supply as supply_commands

    for command in supply_commands.COMMANDS:
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    try:
        code = cli.main(args=argv, prog_name="sandbox", standalone_mode=False)
        return code if isinstance(code, int) else ExitCode.OK
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"error: the spec is invalid ({len(exc.problems)} problem(s)); nothing was written", err=True)
        return exc.exit_code
    except SandboxError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception:  # noqa: BLE001 - the one place that turns bugs into an exit code
        import traceback

        traceback.print_exc()
        click.echo("internal error: this is a bug in sandbox; please report it with the traceback above", err=True)
        return ExitCode.INTERNAL


def run() -> None:
    sys.exit(main())
