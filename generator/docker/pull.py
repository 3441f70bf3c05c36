"""`sandbox pull`: fetch the image from the first registry that serves it.

Names are tried in order (the spec's primary name, then its mirrors). A registry that is
rate-limiting, failing with 5xx, timing out or unreachable gets up to ``tries`` attempts with
jittered exponential backoff; a name that does not exist or is denied is given up at once,
since asking again gets the same answer. The engine being unreachable ends everything at once.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from generator.docker import classify as _classify
from generator.docker.client import DockerClient, image_argument
from generator.docker.errors import DockerError, DockerTimeout, EngineUnreachable, PullError
from generator.docker.timeouts import BUILD_TIMEOUT

#: one attempt at a pull may download gigabytes
PULL_TIMEOUT = BUILD_TIMEOUT
TRIES = 3

#: the registry said "later": rate limits and server errors
_TRANSIENT = re.compile(
    r"toomanyrequests|too many requests|rate limit"
    r"|\b5\d\d (internal server error|bad gateway|service unavailable|gateway time-?out)"
    r"|status:? 5\d\d\b|status code:? 5\d\d\b",
    re.IGNORECASE,
)
#: the registry said "no": asking again gets the same answer
_PERMANENT = re.compile(
    r"manifest unknown|not found|does not exist|pull access denied|\bdenied\b|unauthorized"
    r"|authentication required|invalid reference format|no matching manifest",
    re.IGNORECASE,
)
_DIGEST_LINE = re.compile(r"^Digest:\s*(sha256:[0-9a-f]{64})\s*$", re.MULTILINE)


_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}


def registry_of(name: str) -> str:
    """The registry host of an image name, as docker decides it (docker.io when none is named)."""
    first, sep, _ = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return "docker.io" if first in _HUB_ALIASES else first
    return "docker.io"


def familiar(name: str) -> str:
    """The short form docker shows for Docker Hub names (docker.io/library/x -> x)."""
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if registry_of(name) == "docker.io" and name.startswith("library/"):
        name = name[len("library/") :]
    return name


def failure_kind(message: str) -> Literal["transient", "permanent"]:
    """Whether asking the same registry again could help. Unknown failures are retried."""
    if _TRANSIENT.search(message):
        return "transient"
    if _PERMANENT.search(message):
        return "permanent"
    # refused connections, DNS failures, resets, timeouts and anything unrecognised
    return "transient"


@dataclass
class Backoff:
    """Exponential delays with equal jitter: attempt n waits a random time in [d/2, d],
    d = min(cap, base * factor**(n-1)), so clients that failed together do not retry together."""

    base: float = 2.0
    factor: float = 2.0
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * self.factor ** (attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Attempt:
    reference: str
    number: int
    error: str | None
    kind: str | None = None


@dataclass(frozen=True)
class PullResult:
    reference: str
    registry: str
    digest: str
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True)
class Event:
    """What a progress display is told: kind is one of start, line, retry, fallback, done."""

    kind: str
    reference: str
    text: str = ""
    attempt: int = 0
    delay: float = 0.0


def _no_events(event: Event) -> None:
    pass


def pull_image(
    client: DockerClient,
    names: list[str],
    tag: str,
    *,
    expected_digest: str | None = None,
    tries: int = TRIES,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[Event], None] = _no_events,
    timeout: float | None = None,
) -> PullResult:
    if not names:
        raise PullError("no image name to pull (image.name is empty)")
    backoff = backoff or Backoff()
    attempts: list[Attempt] = []
    for index, name in enumerate(names):
        reference = f"{name}:{tag}"
        if index:
            on_event(Event("fallback", reference, text=registry_of(name)))
        for number in range(1, tries + 1):
            on_event(Event("start", reference, text=registry_of(name), attempt=number))
            try:
                output = _pull_once(client, reference, on_event, timeout)
            except EngineUnreachable:
                raise  # the engine itself is unreachable: no registry can help
            except DockerError as exc:
                message = exc.cli_message or str(exc)
                kind = "transient" if isinstance(exc, DockerTimeout) else failure_kind(message)
                attempts.append(Attempt(reference, number, message, kind))
                if kind == "permanent" or number == tries:
                    break
                delay = backoff.delay(number)
                on_event(Event("retry", reference, text=message, attempt=number, delay=delay))
                sleep(delay)
                continue
            digest = _digest(client, name, reference, output, expected_digest)
            attempts.append(Attempt(reference, number, None))
            if expected_digest and digest != expected_digest:
                # leave nothing under the expected name that a later `run` could pick up
                _remove_quietly(client, reference)
                raise PullError(
                    f"{reference} from {registry_of(name)} has digest {digest}, but the spec pins "
                    f"image.digest {expected_digest}; refusing it (the tag was removed again)"
                )
            on_event(Event("done", reference, text=digest, attempt=number))
            return PullResult(reference, registry_of(name), digest, tuple(attempts))
    raise PullError(_summary(names, tag, attempts))


def _pull_once(client: DockerClient, reference: str, on_event: Callable[[Event], None], timeout: float | None) -> str:
    lines: list[str] = []
    argument = image_argument(reference)
    pulling = client.stream(
        # stream_logs=True selects the overload that yields log lines; python-on-whales types the union of all
        lambda whales: whales.image.pull(argument, stream_logs=True),  # type: ignore[arg-type, return-value]
        timeout=PULL_TIMEOUT if timeout is None else timeout,
    )
    for line in pulling:
        lines.append(line)
        on_event(Event("line", reference, text=line))
    return "\n".join(lines)


def _remove_quietly(client: DockerClient, reference: str) -> None:
    argument = image_argument(reference)
    try:
        client.call(lambda whales: whales.image.remove(argument))
    except DockerError:
        pass  # already gone, or in use by a container: nothing more to do here


def _digest(client: DockerClient, name: str, reference: str, output: str, expected: str | None = None) -> str:
    """The manifest digest of what was pulled. An image can be known by several (Podman lists
    every manifest digest it has recorded for the image under each of its names: the one it
    was built or pushed with too, the one pulled last), so the pinned one counts when it is
    among them. Otherwise Podman cannot say which of them the registry served: all of them
    are named ("A or B")."""
    argument = image_argument(reference)
    try:
        repo_digests = client.call(lambda whales: whales.image.inspect(argument).repo_digests)
    except DockerError:
        repo_digests = []
    wanted = familiar(name)
    known = [digest for repo, _, digest in (entry.partition("@") for entry in repo_digests or []) if familiar(repo) == wanted and digest]
    if expected and expected in known:
        return expected
    if known and client.is_podman:
        return " or ".join(dict.fromkeys(known))
    if known:
        return known[0]
    match = _DIGEST_LINE.search(output)
    if match:
        return match[1]
    raise PullError(f"pulled {reference} but docker reported no digest for it")


def _summary(names: list[str], tag: str, attempts: list[Attempt]) -> str:
    lines = [f"could not pull {names[0]}:{tag} from any registry ({', '.join(registry_of(n) for n in names)}):"]
    for attempt in attempts:
        first = _classify.message_of(attempt.error).splitlines()[-1] if attempt.error else ""
        lines.append(f"  {attempt.reference} try {attempt.number} ({attempt.kind}): {first}")
    return "\n".join(lines)
