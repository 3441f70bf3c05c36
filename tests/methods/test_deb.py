"""deb: the model, the rendered fetch stage and install step, and the rendered shell run
for real: a .deb built here with dpkg-deb, served on 127.0.0.1, fetched and checked by the
stage's RUN (a wrong digest, an arch without a .deb, a file that is no .deb all fail), and
the final stage's apt-get command resolving the package's dependency (apt's simulation)."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dockerfile
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import SpecError
from generator.lint import lint
from generator.lockfile import Lock, LockEntry
from tests.integration.examples import examples
from tests.integration.scripts import path_with_scripts
from tests.integration.servers import FileServer
from tests.integration.small_specs import SHA_A, SHA_B, STAGE_BASE, Rendered, rejected, render_data, spec_data

URL = "https://github.com/example/demo/releases/download/v{version}/demo_{version}_{arch}.deb"
#: a dependency the host's apt knows and has not installed (checked before use)
DEPENDENCY = "hello"


def deb_tool(**changes) -> dict:
    tool = {"name": "demo", "method": "deb", "version": "1.0.0", "url": URL, "sha256": {"amd64": SHA_A, "arm64": SHA_B}}
    tool.update(changes)
    return tool


def render(tool: dict, lock: Lock | None = None) -> Rendered:
    return render_data(spec_data(tool, base=STAGE_BASE), lock=lock)


def fetch_run(rendered: Rendered) -> str:
    (run,) = rendered.runs("deb-demo")
    return run


def install_run(rendered: Rendered) -> tuple[str, list[str]]:
    """The final stage's RUN that installs the .deb: its shell, and its flags (the mounts)."""
    (command,) = [c for c in rendered.stages()["sandbox"] if c.cmd == "RUN" and ".deb" in c.value[0]]
    return command.value[0], list(command.flags)


# -- the model ---------------------------------------------------------------------------


def test_every_platform_needs_a_digest():
    rejected(spec_data(deb_tool(sha256={"amd64": SHA_A})), "tools[1].sha256", "no sha256 of the .deb for arm64")
    # a spec that builds for amd64 alone needs only that one
    render_data(spec_data(deb_tool(sha256={"amd64": SHA_A}), platforms=["linux/amd64"]))


def test_unknown_placeholders_and_arches_are_refused():
    rejected(spec_data(deb_tool(url="https://example.com/demo_{ver}.deb")), "tools[1].url", "unknown placeholder {ver}")
    rejected(spec_data(deb_tool(url="https://example.com/demo_{uname}.deb")), "tools[1].url", "{uname} is not filled in a .deb's URL")
    rejected(spec_data(deb_tool(sha256={"amd64": SHA_A, "arm64": SHA_B, "i386": SHA_A})), "tools[1].sha256.i386", "amd64")
    rejected(spec_data(deb_tool(sha256={"amd64": "ABC", "arm64": SHA_B})), "tools[1].sha256.amd64", "sha256")


def test_the_fetch_stage_needs_curl_in_the_base():
    rejected(spec_data(deb_tool(), base={"image": "ubuntu", "tag": "24.04", "packages": ["ca-certificates"]}),
             "tools[1].method", "needs 'curl'")  # fmt: skip


# -- rendering -------------------------------------------------------------------------------


def test_a_fetch_stage_from_base_and_an_install_that_mounts_it():
    rendered = render(deb_tool())
    stage = rendered.stages()["deb-demo"]
    assert stage[0].value[0] == "base"
    fetch = fetch_run(rendered)
    assert "https://github.com/example/demo/releases/download/v1.0.0/demo_1.0.0_arm64.deb" in fetch
    assert SHA_A in fetch and SHA_B in fetch

    install, flags = install_run(rendered)
    mount = next(f for f in flags if "type=bind" in f)
    options = dict(part.split("=", 1) for part in mount.removeprefix("--mount=").split(","))
    assert options["from"] == "deb-demo"
    # the file the stage writes is the file the install names, seen through the mount
    # sandbox-fetch WHAT URL FILE --sha256 DIGEST
    words = fetch.split("sandbox-fetch ", 1)[1].split()
    written = words[words.index('"${url}"') + 1]
    assert words[words.index('"${url}"') + 2 :][:2] == ["--sha256", '"${sha256}"']
    installed = install.split("apt-get install -y --no-install-recommends ", 1)[1].split()[0]
    assert written.startswith(options["source"] + "/")
    assert installed == options["target"] + written.removeprefix(options["source"])
    # installed as root: before the final stage switches to the user
    final = rendered.stages()["sandbox"]
    position = next(i for i, c in enumerate(final) if c.cmd == "RUN" and ".deb" in c.value[0])
    assert position < [c.cmd for c in final].index("USER")
    # nothing of the .deb is COPY'd into a layer
    assert not any(c.cmd == "COPY" and "deb-demo" in " ".join(c.flags) for c in rendered.instructions)


def test_the_output_lints_clean():
    assert lint(render(deb_tool()).text, "Dockerfile") == []


def test_a_locked_digest_replaces_the_spec_one_while_its_url_matches():
    locked = "c" * 64
    lock = Lock()
    lock.set("demo", "amd64", LockEntry(URL.replace("{version}", "1.0.0").replace("{arch}", "amd64"), locked))
    rendered = render(deb_tool(), lock)
    fetch = fetch_run(rendered)
    assert locked in fetch and SHA_A not in fetch and SHA_B in fetch
    moved = Lock()
    moved.set("demo", "amd64", LockEntry("https://example.com/old.deb", locked))
    assert SHA_A in fetch_run(render(deb_tool(), moved))


# -- the rendered shell, run ----------------------------------------------------------------


def build_deb(directory: Path, depends: str | None = None) -> Path:
    """A real .deb: one script under /usr/bin, optionally depending on a package."""
    root = directory / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    control = "Package: sandbox-demo\nVersion: 1.0.0\nArchitecture: all\nMaintainer: Tests <tests@example.invalid>\n"
    control += f"Depends: {depends}\n" if depends else ""
    control += "Description: a package built by the deb method's tests\n"
    (root / "DEBIAN/control").write_text(control)
    script = root / "usr/bin/sandbox-demo"
    script.write_text("#!/bin/sh\necho demo\n")
    script.chmod(0o755)
    out = directory / "demo.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1, and its base URL."""
    site = tmp_path / "site"
    site.mkdir()
    with FileServer(site) as server:
        yield site, server.url


needs_dpkg = pytest.mark.skipif(not shutil.which("dpkg-deb") or not shutil.which("curl"), reason="needs dpkg-deb and curl")


def run_fetch(rendered: Rendered, out: Path, arch: str) -> subprocess.CompletedProcess:
    """The stage's RUN, with /out moved under the test's directory, for one TARGETARCH."""
    script = fetch_run(rendered).replace("/out", str(out))
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        env={**os.environ, "PATH": path_with_scripts(), "TARGETARCH": arch}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def served_tool(site: Path, base: str, data: bytes, **digests: str) -> dict:
    for arch in ("amd64", "arm64"):
        (site / f"demo_1.0.0_{arch}.deb").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    return deb_tool(url=f"{base}/demo_{{version}}_{{arch}}.deb", sha256={"amd64": sha, "arm64": sha, **digests})


@needs_dpkg
@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_the_stage_fetches_and_checks_the_deb(tmp_path, served, arch):
    site, base = served
    deb = build_deb(tmp_path)
    out = tmp_path / "out"
    result = run_fetch(render(served_tool(site, base, deb.read_bytes())), out, arch)
    assert result.returncode == 0, result.stderr
    assert (out / "demo.deb").read_bytes() == deb.read_bytes()
    package = subprocess.run(["dpkg-deb", "--field", str(out / "demo.deb"), "Package"], capture_output=True, text=True, check=True)
    assert package.stdout.strip() == "sandbox-demo"


@needs_dpkg
def test_a_wrong_digest_fails_the_stage(tmp_path, served):
    site, base = served
    tool = served_tool(site, base, build_deb(tmp_path).read_bytes(), arm64="0" * 64)
    rendered = render(tool)
    assert run_fetch(rendered, tmp_path / "ok", "amd64").returncode == 0
    result = run_fetch(rendered, tmp_path / "bad", "arm64")
    assert result.returncode != 0
    assert "sandbox: sha256 mismatch for demo (arm64)" in result.stderr


@needs_dpkg
def test_an_arch_without_a_deb_and_a_file_that_is_no_deb_fail(tmp_path, served):
    site, base = served
    only_amd64 = render_data(
        spec_data(served_tool(site, base, build_deb(tmp_path).read_bytes()) | {"sha256": {"amd64": "0" * 64}},
                  base=STAGE_BASE, platforms=["linux/amd64"])
    )  # fmt: skip
    result = run_fetch(only_amd64, tmp_path / "out", "arm64")
    assert result.returncode != 0 and "sandbox: demo has no .deb for arm64" in result.stderr
    # the right digest of the wrong file: dpkg-deb refuses it before apt ever sees it
    result = run_fetch(render(served_tool(site, base, b"<html>not found</html>\n")), tmp_path / "html", "amd64")
    assert result.returncode != 0 and "dpkg-deb" in result.stderr


def _apt_can_simulate() -> str | None:
    """Why the host cannot simulate installing the test package, or None if it can."""
    if not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        return "no apt on this host"
    known = subprocess.run(["apt-cache", "show", DEPENDENCY], capture_output=True)
    if known.returncode != 0:
        return f"the host's apt lists do not know {DEPENDENCY}"
    installed = subprocess.run(["dpkg-query", "-W", "-f=${Status}", DEPENDENCY], capture_output=True, text=True)
    if "install ok installed" in installed.stdout:
        return f"{DEPENDENCY} is already installed here, so apt would have nothing to resolve"
    return None


@needs_dpkg
def test_the_install_step_lets_apt_resolve_the_dependencies(tmp_path, served):
    """The final stage's command, with the bind mount pointed at what the stage fetched and
    apt in simulation mode (-s: nothing is installed; apt-get update is left to the build):
    apt plans to install the package and the dependency it declares."""
    reason = _apt_can_simulate()
    if reason:
        pytest.skip(reason)
    site, base = served
    rendered = render(served_tool(site, base, build_deb(tmp_path, depends=DEPENDENCY).read_bytes()))
    out = tmp_path / "out"
    assert run_fetch(rendered, out, "amd64").returncode == 0
    install, flags = install_run(rendered)
    mount = dict(p.split("=", 1) for p in next(f for f in flags if "type=bind" in f).removeprefix("--mount=").split(","))
    script = install.replace(mount["target"], str(out)).replace("apt-get update", "true").replace("apt-get install", "apt-get install -s")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    planned = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("Inst ")]
    assert set(planned) == {"sandbox-demo", DEPENDENCY}


# -- what a spec author types cannot change the Dockerfile's structure -------------------------


def _structure(text: str) -> list[tuple]:
    """Each instruction with its flag count and, for a shell RUN, its shell operators and
    word count (as a POSIX shell splits them)."""
    shape = []
    for command in dockerfile.parse_string(text):
        entry: tuple = (command.cmd, len(command.flags), command.json)
        if command.cmd == "RUN" and not command.json:
            lexer = shlex.shlex(command.value[0], posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
            entry += (tuple(t for t in tokens if t and set(t) <= set("();<>|&")), len(tokens))
        else:
            entry += (len(command.value),)
        shape.append(entry)
    return shape


_FIELDS = ("name", "version", "url", "description", "note")
_BASELINE = _structure(render(deb_tool(description="a demo", note="from the vendor")).text)


@settings(max_examples=examples(150), derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(_FIELDS),
    value=st.text(st.characters(codec="utf-8"), max_size=40)
    | st.sampled_from(["x; id", "$(id)", "`id`", "a\nRUN id", "a' b", 'a" b', "a\\", "{version}; id", "https://e.com/a b.deb", "x && id"]),
)
def test_any_string_in_a_deb_field_is_refused_or_changes_nothing_but_itself(field, value):
    tool = deb_tool(description="a demo", note="from the vendor")
    tool[field] = value
    try:
        text = render(tool).text
    except SpecError:
        return
    assert _structure(text) == _BASELINE


def test_the_structure_oracle_sees_an_injected_command():
    text = render(deb_tool(description="a demo", note="from the vendor")).text
    assert _structure(text.replace("install -d /out", "install -d /out; id", 1)) != _BASELINE
    assert _structure(text.replace("# demo 1.0.0 (.deb)", "RUN id\n# demo", 1)) != _BASELINE
