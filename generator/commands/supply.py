"""lock, outdated, update, audit: keeping downloads pinned, verified and current."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from generator.commands.params import Seconds, format_options, output_option, profile_option
from generator.errors import FindingsError, UpstreamError, UsageError
from generator.lockfile import Lock
from generator.output import CHANGELOG, LOCK, SBOM, SBOM_DIFF, write_atomic
from generator.paths import LOCK_NAME
from generator.project import Project
from generator.terminal import escape_controls

if TYPE_CHECKING:  # the supply modules are imported where a command uses them: `sandbox check` loads none
    from generator.methods.registry import Tool
    from generator.spec import Spec
    from generator.supply.fetch import Http
    from generator.supply.outdated import Row
    from generator.supply.registry import Registry
    from generator.supply.upstreams import Upstreams

#: what `sbom --standard` writes
SBOM_STANDARDS = ("cyclonedx", "spdx")
#: the largest --min-age (ages are subtracted from dates; timedelta.max is 2.7 million years)
MAX_MIN_AGE = timedelta(days=100 * 365)

upstream_option = click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    metavar="NAME=URL",
    help="Use another base URL for an upstream (github, github_api, pypi, npm, crates, goproxy, "
    "node_index, python_index, go_index, registry); also SANDBOX_UPSTREAM_<NAME>.",
)
jobs_option = click.option("--jobs", default=8, show_default=True, type=click.IntRange(1, 64), help="Parallel requests.")
timeout_option = click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=Seconds(1, 3600),
    help="Seconds an upstream's answer may take in all (connecting, headers, body); a download must bring 64 KiB per this many.",
)
min_age_option = click.option(
    "--min-age",
    default="0",
    show_default=True,
    metavar="AGE",
    help="Skip releases younger than this (e.g. 7d, 12h, 2w); releases of unknown age are skipped too.",
)


def _clients(upstreams: tuple[str, ...], timeout: float) -> tuple[Upstreams, Http, Registry]:
    from generator.supply.fetch import Http
    from generator.supply.registry import Registry
    from generator.supply.upstreams import Upstreams

    config = Upstreams.from_env(upstreams)
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    http = Http(timeout=timeout, github_api=config["github_api"], github_token=token)
    return config, http, Registry(http, config)


def _min_age(text: str) -> timedelta:
    from generator.supply.versions import parse_age

    try:
        age = parse_age(text)
    except ValueError as exc:
        raise UsageError(f"--min-age: {exc}") from None
    except OverflowError:  # more days than a timedelta holds
        age = timedelta.max
    if age > MAX_MIN_AGE:
        # a release date minus an age this large would leave the calendar
        raise UsageError(f"--min-age: {text!r} is more than {MAX_MIN_AGE.days // 365} years; no release is that old")
    return age


def _say(text: str, *, err: bool = False, nl: bool = True, keep: str = "") -> None:
    """click.echo for lines that carry what upstreams answered (versions, notes, errors) or
    the lock holds: control characters are shown as escapes, so no answer can forge a line
    or move the cursor."""
    click.echo(escape_controls(text, keep), err=err, nl=nl)


def _lock_path(project: Project) -> Path:
    return project.spec_path.parent / LOCK_NAME


def _lock_target(project: Project) -> Path:
    """Where `lock` and `update` write the lock, once it passed the path rule (a symlinked
    lock is written where it points, inside the project, not replaced by a file)."""
    path = _lock_path(project)
    real = project.writable(path, LOCK_NAME, LOCK, as_given=LOCK_NAME, option=False)
    return real if path.is_symlink() else path


@click.command(short_help="Record the sha256 of every download in sandbox.lock.")
@click.argument("tools", nargs=-1, metavar="[TOOL]...")
@click.option("--platform", "platforms", multiple=True, metavar="OS/ARCH", help="Only this platform (repeatable).")
@click.option("--refresh", is_flag=True, help="Fetch again even where the locked URL is unchanged.")
@upstream_option
@jobs_option
@timeout_option
@click.pass_context
def lock(
    ctx: click.Context,
    tools: tuple[str, ...],
    platforms: tuple[str, ...],
    refresh: bool,
    upstreams: tuple[str, ...],
    jobs: int,
    timeout: float,
) -> None:
    """Fetch every download (per platform) and record its sha256 in sandbox.lock, plus the
    images' digests. Entries whose URL is unchanged are kept; all failures are reported
    (exit 3) and the lock is still written for what succeeded."""
    from generator.supply import lock as locking

    project = Project.load(ctx.obj["spec"])
    path = _lock_target(project)
    _, http, registry = _clients(upstreams, timeout)
    outcome = locking.run(
        project.spec, project.lock, path, http, registry,
        tools=tools or None, platforms=platforms, refresh=refresh, jobs=jobs, report=_say,
    )  # fmt: skip
    _say(f"{path}: {len(outcome.locked)} locked, {len(outcome.kept)} unchanged")


@click.command(short_help="Show the newest upstream release of each tool.")
@click.argument("tools", nargs=-1, metavar="[TOOL]...")
@format_options
@min_age_option
@upstream_option
@jobs_option
@timeout_option
@click.pass_context
def outdated(
    ctx: click.Context,
    tools: tuple[str, ...],
    output_format: str,
    min_age: str,
    upstreams: tuple[str, ...],
    jobs: int,
    timeout: float,
) -> None:
    """Newest upstream release of each versioned tool and of the base image ('base'), and
    the head commit of each git tool's branch (GitHub repositories only)."""
    from generator.supply import outdated as finder

    project = Project.load(ctx.obj["spec"])
    config, http, registry = _clients(upstreams, timeout)
    now = datetime.now(timezone.utc)
    rows = finder.check(project.spec, config, http, registry, tools=tools, min_age=_min_age(min_age), jobs=jobs, now=now)
    records = [
        {
            "tool": r.tool,
            "current": r.current,
            "latest": r.newest.version if r.newest else None,
            "update": r.update,
            "source": r.source,
            "age": r.age(now),
            "published": _date(r.newest.release.published) if r.newest else None,
            "note": r.error or r.note or _skipped_note(r),
        }
        for r in rows
    ]
    if output_format == "json":
        click.echo(json.dumps(records, indent=2))
    else:
        _table([_readable(r, f) for r, f in zip(records, rows, strict=True)], markdown=output_format == "markdown")
    failed = [r for r in rows if r.error and r.source != "-"]
    if failed:
        raise _upstream_failed(failed)


def _date(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _readable(record: dict[str, Any], row: Row) -> dict[str, Any]:
    """Commit ids cut to 12 digits, and a git tool's head shown with its date."""
    from generator.supply.outdated import short

    latest = short(record["latest"])
    if row.field == "commit" and row.newest and row.newest.release.published:
        latest = f"{latest} ({row.newest.release.published:%Y-%m-%d})"
    return {**record, "current": short(record["current"]), "latest": latest}


def _skipped_note(row: Row) -> str:
    if row.eligible and row.newest and row.eligible.version != row.newest.version:
        return f"newest is younger than --min-age; would update to {row.eligible.version}"
    if row.newest and not row.eligible:
        if row.newest.release.published is None:
            return "upstream gives no release dates, so --min-age cannot vouch for any"
        return "every newer release is younger than --min-age"
    return ""


def _upstream_failed(rows: list[Row]) -> UpstreamError:
    return UpstreamError(f"{len(rows)} upstream(s) could not be asked: {', '.join(r.tool for r in rows)}")


def _table(records: list[dict[str, Any]], *, markdown: bool = False) -> None:
    columns = ("tool", "current", "latest", "source", "age", "note")
    cells = [[str(r[c] if r[c] is not None else "?") if c != "latest" or r[c] else "?" for c in columns] for r in records]
    updates = False
    for row, record in zip(cells, records, strict=True):
        if record["update"]:
            row[2] = f"{record['latest']} *"
            updates = True
    if markdown:
        from generator.markdown import cell

        _say("| " + " | ".join(columns) + " |")
        _say("|" + "---|" * len(columns))
        for row in cells:
            _say("| " + " | ".join(cell(value) for value in row) + " |")
        if updates:
            _say("")
            _say("\\* an update is available (`sandbox update TOOL`)")
        return
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    _say("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        _say("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if updates:
        _say("* an update is available (`sandbox update TOOL`)")


@click.command(short_help="Move tools to their newest release and re-lock them.")
@click.argument("tools", nargs=-1, metavar="[TOOL]...")
@click.option("--dry-run", is_flag=True, help="Print the diff of sandbox.yaml; write nothing.")
@click.option("--no-lock", is_flag=True, help="Do not re-lock the updated tools.")
@click.option(
    "--changelog", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Also write a Markdown list of the changes (with release links) here.",
)  # fmt: skip
@min_age_option
@upstream_option
@jobs_option
@timeout_option
@click.pass_context
def update(
    ctx: click.Context,
    tools: tuple[str, ...],
    dry_run: bool,
    no_lock: bool,
    changelog: Path | None,
    min_age: str,
    upstreams: tuple[str, ...],
    jobs: int,
    timeout: float,
) -> None:
    """Move tools (default: all) to their newest release: only the version values in
    sandbox.yaml change (comments, order and quoting stay), then the tools are re-locked.
    The base image's tag changes only when 'base' is named. A git tool's commit moves to
    the head of its branch (a missing commit: line is added after url:); a disabled git
    tool gets its commit but stays disabled."""
    from generator.supply import outdated as finder

    project = Project.load(ctx.obj["spec"])
    age = _min_age(min_age)
    # every file this run may write passes the path rule before anything is asked or written
    targets = {
        "changelog": project.writable(changelog, "--changelog", CHANGELOG, anywhere=True) if changelog and not dry_run else None,
        "lock": _lock_target(project) if not (no_lock or dry_run) else None,
    }
    config, http, registry = _clients(upstreams, timeout)
    rows = finder.check(project.spec, config, http, registry, tools=tools, min_age=age, jobs=jobs)
    rows = [r for r in rows if r.tool != finder.BASE or finder.BASE in tools]
    failed = [r for r in rows if r.error and r.source != "-"]
    for row in rows:
        if row.error and (row.source != "-" or row.tool in tools):
            _say(f"skipped  {row.tool}: {row.error}", err=True)
        elif row.newest and not row.update and row.newest.version != row.current:
            _say(f"skipped  {row.tool}: {row.note or _skipped_note(row) or 'no newer release'}", err=True)
    changes = {r.tool: r.changes() for r in rows if r.update}
    if changes:
        _apply(project, rows, changes, dry_run, targets, http, registry, jobs)
    elif failed:
        # the upstreams that did not answer may well have newer releases
        _say("no update from the upstreams that answered; nothing was written")
    else:
        _say("everything is up to date")
    if failed:
        # the rest was done; the exit code still says that some upstreams were not asked
        raise _upstream_failed(failed)


def _apply(
    project: Project,
    rows: list[Row],
    changes: dict[str, dict[str, str]],
    dry_run: bool,
    targets: dict[str, Path | None],
    http: Http,
    registry: Registry,
    jobs: int,
) -> None:
    from generator.supply import lock as locking, update as updating
    from generator.supply.outdated import BASE, short

    path = project.spec_path
    text = project.text  # as loaded (read as a regular file, never re-opened)
    new_text, new_spec = updating.apply(text, str(path), changes)
    if dry_run:
        _say(updating.diff(text, new_text, str(path)), nl=False, keep="\n\t")
        _say(f"dry run: {len(changes)} tool(s) would change; nothing was written")
        return
    write_atomic(path, new_text)
    by_name = {r.tool: r for r in rows}
    for name in changes:
        row = by_name[name]
        _say(f"updated  {name} {short(row.current)} -> {short(row.update)}")
        if row.note:
            _say(f"note     {name}: {row.note}", err=True)
    if targets["changelog"]:
        write_atomic(targets["changelog"], _changelog(by_name, changes, new_spec))
    for tool in _still_pinning_old_digests(project.spec, new_spec, changes):
        _say(
            f"note     {tool.name}: sandbox.yaml still pins the sha256 of {by_name[tool.name].current}; "
            "sandbox.lock's digest takes precedence; remove the spec's sha256",
            err=True,
        )
    relock = [name for name in changes if name != BASE]
    lock_path = targets["lock"]
    if lock_path is None:  # --no-lock
        return
    outcome = locking.run(
        new_spec.model_copy(update={"source": path}), Lock.read(lock_path), lock_path, http, registry,
        tools=relock, with_images=BASE in changes, jobs=jobs, report=_say,
    )  # fmt: skip
    _say(f"{lock_path}: {len(outcome.locked)} locked, {len(outcome.kept)} unchanged")


def _still_pinning_old_digests(old_spec: Spec, new_spec: Spec, changes: dict[str, dict[str, str]]) -> list[Tool]:
    """The updated tools whose sandbox.yaml still pins a sha256 for a download whose URL the
    update changed: that digest is the old file's."""
    from generator.methods.context import RenderContext

    old_ctx = RenderContext(old_spec, old_spec.default_profile, Lock())
    new_ctx = RenderContext(new_spec, new_spec.default_profile, Lock())
    old_tools = {tool.name: tool for tool in old_spec.tools}
    stale = []
    for tool in new_spec.tools:
        if tool.name not in changes or tool.name not in old_tools:
            continue
        before = dict(old_tools[tool.name].downloads(old_ctx))
        if any(url != before.get(key) and tool.spec_sha256(key) for key, url in tool.downloads(new_ctx)):
            stale.append(tool)
    return stale


def _changelog(rows: dict[str, Row], changes: dict[str, dict[str, str]], spec: Spec) -> str:
    from generator.markdown import cell
    from generator.supply.outdated import short

    lines = ["| tool | from | to | source | release |", "|---|---|---|---|---|"]
    for name in sorted(changes):
        row = rows[name]
        # the link is the upstream's word: it must stay inside its cell of the pull request's table
        link = str(row.eligible.release.url) if row.eligible and row.eligible.release.url else ""
        lines.append(f"| {name} | {short(row.current)} | {cell(short(row.update) or '')} | {row.source} | {cell(link)} |")
    disabled = sorted(t.name for t in spec.tools if t.name in changes and not t.enabled)
    if disabled:
        lines.append("")
        for name in disabled:
            lines.append(
                f"- **{name} is disabled** and now has a pinned commit: a maintainer can review it and "
                "enable the tool (`enabled: true`, drop `disabled_reason`); this update does not enable it."
            )
    return "\n".join(lines) + "\n"


@click.command(short_help="List every download that is unpinned or unverified.")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when anything is listed (a digest pinned on first use only under policy independent_verification: required).",
)
@format_options
@click.pass_context
def audit(ctx: click.Context, strict: bool, output_format: str) -> None:
    """List every download that is unpinned or unverified, with the spec's reason, and every
    digest sandbox.lock took on first use (checked against nothing independent)."""
    from generator.methods.data import FIRST_USE_KIND
    from generator.supply.audit import audit as run_audit

    project = Project.load(ctx.obj["spec"])
    findings = run_audit(project.spec, project.lock)
    if output_format == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        if output_format == "markdown":
            from generator.markdown import cell

            if findings:
                _say("| subject | kind | reason |")
                _say("|---|---|---|")
            for f in findings:
                pins = "".join(f"; {pin.key}: sha256 {pin.sha256}, locked from {pin.url}" for pin in f.pins)
                _say(f"| {cell(f.subject)} | {cell(f.kind)} | {cell(f.reason + pins)} |")
            if findings:
                _say("")
        else:
            width = max([len(f.subject) for f in findings] + [0])
            kind_width = max([len(f.kind) for f in findings] + [0])
            for f in findings:
                _say(f"{f.subject.ljust(width)}  {f.kind.ljust(kind_width)}  {f.reason}")
                for pin in f.pins:
                    _say(f"{'':{width}}    {pin.key}: sha256 {pin.sha256}, locked from {pin.url}")
        first_use = [f for f in findings if f.kind == FIRST_USE_KIND]
        said = [f"{len(findings) - len(first_use)} item(s) unpinned or unverified"] if len(findings) > len(first_use) else []
        if first_use:
            passes = "" if first_use[0].fails_strict else " (--strict lets them pass: policy independent_verification is optional)"
            said.append(f"{len(first_use)} item(s) pinned on first use{passes}")
        _say("; ".join(said) if findings else "audit: everything is pinned and verified")
    failing = [f for f in findings if f.fails_strict]
    if strict and failing:
        what = "unpinned, unverified or pinned on first use" if any(f.kind == FIRST_USE_KIND for f in failing) else "unpinned or unverified"
        raise FindingsError(f"audit --strict: {len(failing)} item(s) {what}")


@click.command(short_help="Write the image's SBOM (CycloneDX or SPDX) from the spec.")
@click.option(
    "--standard",
    type=click.Choice(SBOM_STANDARDS),
    default="cyclonedx",
    show_default=True,
    help="CycloneDX 1.6 or SPDX 2.3, as JSON.",
)
@click.option(
    "--format",
    "format_alias",
    type=click.Choice(SBOM_STANDARDS),
    default=None,
    hidden=True,
    help="Same as --standard (its earlier spelling).",
)
@profile_option
@output_option()
@click.option(
    "--diff",
    "diff_with",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    metavar="OLD.cdx.json",
    help="Instead: print, as Markdown, which components changed since that CycloneDX SBOM (version, purl, sha256).",
)
@click.pass_context
def sbom(
    ctx: click.Context,
    standard: str,
    format_alias: str | None,
    profile: str | None,
    output: Path | None,
    diff_with: Path | None,
) -> None:
    """The image's software bill of materials from sandbox.yaml and sandbox.lock, no build:
    every enabled tool (apt: every package) with version, purl, download URL per platform,
    the sha256 the spec or the lock holds, and how it is verified; the base and builder
    images with their digests when known. The same spec and lock give the same bytes
    (timestamps only from SOURCE_DATE_EPOCH)."""
    from generator.sbom.document import render

    if format_alias is not None and ctx.get_parameter_source("standard") is not ParameterSource.DEFAULT and format_alias != standard:
        raise click.UsageError(f"--standard {standard} and --format {format_alias}: choose one")
    fmt = format_alias or standard
    project = Project.load(ctx.obj["spec"])
    # before any work: a file that may not be written is found out now
    save_to = project.writable(output, "--output", SBOM if diff_with is None else SBOM_DIFF, anywhere=True) if output else None
    text = render(project.spec, project.lock, profile, fmt)
    if diff_with is not None:
        from generator.sbom.diff import diff, markdown, read_sbom

        if fmt != "cyclonedx":
            raise click.UsageError("--diff compares CycloneDX SBOMs; leave --standard at cyclonedx")
        text = markdown(diff(read_sbom(diff_with), text, str(diff_with), "the spec's SBOM"))
    if save_to is None:
        click.echo(text, nl=False)
    else:
        changed = write_atomic(save_to, text)
        _say(f"{'wrote' if changed else 'unchanged'} {output} ({fmt})", err=True)


COMMANDS = [lock, outdated, update, audit, sbom]
