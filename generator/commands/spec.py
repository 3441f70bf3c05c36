"""generate, check, lint, schema, list: everything that works from the spec alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cache import ResultCache
from generator.commands.params import format_options, output_option, profile_option, profiles_option, result_cache_option
from generator.errors import FindingsError
from generator.terminal import escape_controls

if TYPE_CHECKING:
    from generator.project import Project

# generate and check import the project (pydantic, ruamel, Jinja) and output modules only
# when generator.cache has no answer: on a hit they would be most of the run time


def _project(ctx: click.Context) -> Project:
    from generator.project import Project

    return Project.load(ctx.obj["spec"])


def _stale_lock_entries(project: Project) -> list[str]:
    """Stale sandbox.lock entries (the spec no longer downloads their URL)."""
    from generator.supply.lock import stale_entries

    return stale_entries(project.spec, project.lock)


@click.command(short_help="Write the Dockerfile of each profile from the spec.")
@profiles_option
@result_cache_option
@click.pass_context
def generate(ctx: click.Context, profiles: tuple[str, ...], no_result_cache: bool) -> None:
    """Render the Dockerfile of every profile (atomically; unchanged files are left alone)."""
    spec_path: Path = ctx.obj["spec"]
    results = ResultCache(spec_path, profiles, enabled=not no_result_cache)
    entry = results.lookup()
    if entry is not None and entry.matches_disk(spec_path):
        for record, path in zip(entry.outputs, entry.paths(spec_path), strict=True):
            click.echo(f"unchanged {path} ({record.profile})")
        return
    project = _project(ctx)
    # every profile rendered and every path checked before the first file is written
    outputs = project.outputs(profiles)
    for output, changed in project.write(outputs):
        click.echo(f"{'wrote' if changed else 'unchanged'} {output.path} ({output.what})")
    results.store([(o.what, o.path, o.text) for o in outputs], lock_fresh=not _stale_lock_entries(project))


@click.command(short_help="Fail with a diff when a generated file is stale.")
@profiles_option
@result_cache_option
@click.pass_context
def check(ctx: click.Context, profiles: tuple[str, ...], no_result_cache: bool) -> None:
    """Fail (exit 1) with a diff when a generated file is stale. Writes nothing."""
    spec_path: Path = ctx.obj["spec"]
    results = ResultCache(spec_path, profiles, enabled=not no_result_cache)
    entry = results.lookup()
    if entry is not None and entry.lock_fresh and entry.matches_disk(spec_path):
        click.echo(f"up to date: {', '.join(str(path) for path in entry.paths(spec_path))}")
        return
    # a miss, or something differs: the full run, which also prints the diff
    from generator.output import drift

    project = _project(ctx)
    outputs = project.outputs(profiles)
    drifts = [d for o in outputs if (d := drift(o.path, o.text))]
    for item in drifts:
        # the file on disk may hold anything, escape sequences too: shown, never sent
        click.echo(escape_controls(item.diff, keep="\n\t"), nl=False)
    # a lock entry whose URL no longer matches is silently ignored by generate: as bad as drift
    stale = _stale_lock_entries(project)
    for line in stale:
        click.echo(f"stale sandbox.lock entry: {line}")
    if drifts:
        names = ", ".join(str(d.path) for d in drifts)
        fix = f"sandbox --spec {project.spec_path} generate"
        raise FindingsError(f"{names} out of date with {project.spec_path}; run: {fix}")
    if stale:
        fix = f"sandbox --spec {project.spec_path} lock"
        raise FindingsError(f"sandbox.lock is stale ({len(stale)} entry/entries, listed above); run: {fix}")
    results.store([(o.what, o.path, o.text) for o in outputs], lock_fresh=True)
    click.echo(f"up to date: {', '.join(str(o.path) for o in outputs)}")


@click.command(short_help="Run hadolint and the sandbox rules on each Dockerfile.")
@profiles_option
@click.pass_context
def lint(ctx: click.Context, profiles: tuple[str, ...]) -> None:
    """hadolint (every severity, DL3057 on) and the sandbox rules on each rendered profile (and the gate's Dockerfile)."""
    from generator.lint import lint as run_lint

    project = _project(ctx)
    findings = [f for o in project.outputs(profiles) if o.dockerfile for f in run_lint(o.text, str(o.path))]
    for finding in findings:
        click.echo(str(finding))
    if findings:
        raise FindingsError(f"{len(findings)} lint finding(s)")
    click.echo("lint: no findings")


def schema_text() -> str:
    from generator.spec import Spec

    schema = Spec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "opencode sandbox spec (sandbox.yaml)"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


@click.command(short_help="Print or write the JSON Schema of sandbox.yaml.")
@output_option(" FILE must be inside the spec's directory.")
@click.option("--check", "check_only", is_flag=True, help="Exit 1 with a diff if --output is stale (needs --output).")
@click.pass_context
def schema(ctx: click.Context, output: Path | None, check_only: bool) -> None:
    """The JSON Schema of sandbox.yaml, generated from the models."""
    from generator.errors import UsageError
    from generator.output import SCHEMA, Target, check_targets, drift, write_atomic
    from generator.project import protected_paths

    if check_only and output is None:
        # without a file there is nothing to compare: printing the schema would pass silently
        raise UsageError("--check compares the schema with a file: name it, e.g. --output sandbox.schema.json --check")
    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
    elif check_only:
        stale = drift(output, text)
        if stale:
            click.echo(stale.diff, nl=False)
            raise FindingsError(f"{output} is stale; run: sandbox schema --output {output}")
        click.echo(f"up to date: {output}")
    else:
        # the spec is not read (a broken spec still gets its schema), so its files: sources
        # are not known here; the spec and the lock are
        spec_path: Path = ctx.obj["spec"]
        target = Target("--output", str(output), output, SCHEMA, through_links=False)
        resolved, problems = check_targets([target], spec_path.parent, protected_paths(spec_path))
        if problems:
            raise UsageError(f"--output: {problems[0][1]}")
        changed = write_atomic(resolved["--output"], text)
        click.echo(f"{'wrote' if changed else 'unchanged'} {output}")


@click.command(name="list", short_help="List the tools: version, method, how each is verified.")
@profile_option
@click.option("--all", "show_all", is_flag=True, help="Include disabled tools and tools of other profiles.")
@format_options
@click.pass_context
def list_tools(ctx: click.Context, profile: str | None, show_all: bool, output_format: str) -> None:
    """Tools: name, version, method, profiles, and how each download is verified."""
    from generator.methods.context import RenderContext

    project = _project(ctx)
    profile = project.profiles((profile,) if profile else ())[0]
    render_ctx = RenderContext(project.spec, profile, project.lock)
    rows = []
    for tool in project.spec.tools:
        if not show_all and not tool.in_profile(profile):
            continue
        rows.append(
            {
                "name": tool.name,
                "version": tool.shown_version(),
                "method": tool.method,
                "profiles": ",".join(tool.profiles) if tool.profiles else "all",
                "enabled": tool.enabled,
                "verified": str(tool.verification(render_ctx)),
                "note": tool.disabled_reason if not tool.enabled else (tool.note or ""),
            }
        )
    columns = ("name", "version", "method", "profiles", "verified", "note")
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if output_format == "markdown":
        from generator.markdown import cell

        lines = [f"### {cell(str(project.spec_path))}: profile {cell(profile)}", ""]
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            name = row["name"] if row["enabled"] else f"{row['name']} (disabled)"
            lines.append("| " + " | ".join(cell(str(name if c == "name" else row[c])) for c in columns) + " |")
        click.echo("\n".join(lines))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text cells: rich reads markup in plain strings, and a note such as "[/]" or
    # "[link=...]" is the spec's text, not styling (an unbalanced tag was a traceback)
    table = Table(title=Text(f"{project.spec_path} — profile {profile}"))
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        style = None if row["enabled"] else "dim"
        cells = (Text(str(row[c])) for c in columns)
        table.add_row(*cells, style=style)
    Console(width=max(120, Console().width)).print(table)


COMMANDS = [generate, check, lint, schema, list_tools]
