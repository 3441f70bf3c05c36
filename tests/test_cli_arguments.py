"""Out-of-range and hostile command-line values: a usage error naming the option, exit 2,
before any work (no network, no Docker, no file written); never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.cli import sandbox_in_process

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copyfile(ROOT / "examples" / "minimal" / "sandbox.yaml", tmp_path / "sandbox.yaml")
    monkeypatch.chdir(tmp_path)
    # nothing here may reach a network or an engine: a try would fail on these
    for name in ("GITHUB_API", "GITHUB", "PYPI", "NPM", "REGISTRY"):
        monkeypatch.setenv(f"SANDBOX_UPSTREAM_{name}", "http://127.0.0.1:9")
    monkeypatch.setenv("SANDBOX_DOCKER_CLI", "/nonexistent/docker")
    return tmp_path


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lock", "--timeout", "nan"], "Invalid value for '--timeout': expected a number of seconds, at least 1 and at most 3600; "
            "got 'nan'"),
        (["lock", "--timeout", "inf"], "got 'inf'"),
        (["outdated", "--timeout", "-inf"], "got '-inf'"),
        (["update", "--timeout", "0"], "got '0'"),
        (["build", "--timeout", "0"], "Invalid value for '--timeout': expected a number of seconds, more than 0 and at most 86400; "
            "got '0'"),
        (["build", "--timeout", "NaN"], "got 'NaN'"),
        (["build", "--timeout", "1e300"], "got '1e300'"),
        (["test", "image", "--health-timeout", "-1"], "Invalid value for '--health-timeout'"),
        (["pull", "--retry-delay", "nan"], "Invalid value for '--retry-delay'"),
        (["outdated", "--min-age", "-1d"], "error: --min-age: '-1d' is not an age such as 7d, 12h or 2w"),
        (["outdated", "--min-age", "99999999999999999999w"], "error: --min-age: '99999999999999999999w' is more than 100 years; "
            "no release is that old"),
        (["update", "--min-age", "36501d"], "is more than 100 years"),
        (["gen\x1b[2Jerate"], "No such command 'gen\\x1b[2Jerate'"),
        (["generate", "--profile", "x\ny"], "unknown profile 'x\\ny'"),
    ],
)  # fmt: skip
def test_out_of_range_options_are_usage_errors(project, argv, message, fails_if_blocked):
    before = _files(project)
    result = sandbox_in_process(*argv)
    assert result.returncode == 2
    err = result.stderr
    assert message in err
    assert "Traceback" not in err and "\x1b" not in err
    assert _files(project) == before


@pytest.mark.parametrize("value", ["-5", "99999999999999", "253402300800", "1_000", " 7", "\uff11\uff12", "0x10", "1.5"])
def test_source_date_epoch_must_be_whole_non_negative_seconds_in_range(project, monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    result = sandbox_in_process("sbom")
    assert result.returncode == 2
    err = result.stderr
    assert err.startswith("error: SOURCE_DATE_EPOCH: expected whole seconds since 1970-01-01 UTC, from 0 to 253402300799")
    assert repr(value) in err


@pytest.mark.parametrize(("value", "stamp"), [("0", "1970-01-01T00:00:00Z"), ("253402300799", "9999-12-31T23:59:59Z")])
def test_source_date_epoch_at_its_limits_is_used(project, monkeypatch, value, stamp):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    result = sandbox_in_process("sbom")
    assert result.returncode == 0
    assert f'"timestamp": "{stamp}"' in result.stdout


def test_the_build_timestamp_reads_source_date_epoch_the_same_way(monkeypatch):
    from generator.docker.build import created_timestamp
    from generator.errors import UsageError

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert created_timestamp() == "1970-01-02T00:00:00Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1" * 30)
    with pytest.raises(UsageError):
        created_timestamp()


@pytest.mark.parametrize("command", [["sbom", "--output"], ["schema", "--output"]])
def test_an_output_that_is_a_device_is_an_error(project, command, fails_if_blocked):
    result = sandbox_in_process(*command, "/dev/null")
    assert result.returncode == 2
    err = result.stderr
    assert "character device" in err and "Traceback" not in err
