"""Options and fixtures for every test (--update-goldens, a private cache home, an alarm for
code that could block). The helpers tests import are in tests/integration/small_specs.py."""

from __future__ import annotations

import signal
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from generator.spec import Spec

DOCKER_TESTS = Path(__file__).parent / "docker"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite the committed Dockerfiles (as sandbox generate does) and tests/bad_specs/*.expected from the current code.",
    )


def pytest_configure(config: pytest.Config) -> None:
    # A suite started in the background by a shell without job control (`scripts/test &` in a
    # script, nohup) inherits SIGINT ignored, and so would every process a test starts: the
    # tests of what Ctrl-C does would see it ignored. Ctrl-C is taken back as Python's own.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture
def fails_if_blocked():
    """The test fails (TimeoutError) instead of hanging when the code under test blocks, e.g.
    on opening a FIFO; 20 s of SIGALRM, for in-process commands."""

    def expired(signum, frame):
        raise TimeoutError("the command blocked (on a special file?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory):
    """generate/check keep results (and render compiled templates) under $XDG_CACHE_HOME, signed
    with a key under $XDG_STATE_HOME: tests use fresh ones of their own, never the user's nor
    another session's."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    # and the key that signs cache entries (generator/cache.py: secret)
    patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
    yield
    patch.undo()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (scripts/test runs ``-n 2 --dist loadgroup``) the tests under
    tests/docker form one group: one worker runs them one at a time, in file order, as a
    run without xdist does (they share the engines, builders and registry), while the other
    workers take the rest. Without xdist the mark does nothing."""
    for item in items:
        if item.path.is_relative_to(DOCKER_TESTS):
            item.add_marker(pytest.mark.xdist_group("docker"))


@pytest.fixture(autouse=True, scope="session")
def _each_valid_spec_text_parsed_once():
    """The in-process runs load the same spec text (the default spec, copied beside each
    test) hundreds of times, and composing it with ruamel.yaml's pure-Python parser takes
    ~90 ms each: about a quarter of the suite's CPU time. Parsing is a pure function of the
    text (the file's name appears only in problems, and the Spec is frozen), so a worker
    keeps the last specs that parsed, by text; a text with problems is parsed every time,
    for its own file's messages. Loader tests import ``parse`` and call it directly."""
    from generator import loader

    parse = loader.parse
    parsed: OrderedDict[str, Spec] = OrderedDict()

    def parse_once(text: str, filename: str) -> Spec:
        spec = parsed.get(text)
        if spec is None:
            spec = parse(text, filename)  # (raises SpecError, naming this file)
            parsed[text] = spec
            if len(parsed) > 32:
                parsed.popitem(last=False)
        return spec

    patch = pytest.MonkeyPatch()
    patch.setattr(loader, "parse", parse_once)
    yield
    patch.undo()
