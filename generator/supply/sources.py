"""Where each tool's releases are listed: one small class per upstream, and the mapping
from a spec entry to its source.

Each source answers ``releases()`` with what the upstream publishes as stable (drafts,
pre-releases and yanked versions left out); ``versions.choose`` does the comparing.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from generator.errors import UpstreamError
from generator.methods.data import Upstream
from generator.supply.fetch import Http
from generator.supply.registry import ImageRef, Registry
from generator.supply.upstreams import Upstreams
from generator.supply.versions import Release, is_stable, key

#: the JSON type an answer is expected to have (dict, list, str)
T = TypeVar("T")


def _when(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _expect(data: object, kind: type[T], url: str, what: str = "the answer") -> T:
    """``data`` if it is of ``kind``; else the upstream answered in another shape than its
    API documents, and fails like one that answered an error."""
    if not isinstance(data, kind):
        raise UpstreamError(f"{url}: unexpected answer ({what} is not a JSON {_JSON_NAMES.get(kind, kind.__name__)})")
    return data


_JSON_NAMES: dict[type, str] = {dict: "object", list: "array", str: "string"}


def _fields(data: object) -> dict[str, object]:
    """An optional object in an answer: its fields, or none when it is absent or not an object."""
    return data if isinstance(data, dict) else {}


#: a link an answer gives for people to read: http(s), no spaces, quotes, markup or control,
#: bidirectional or invisible characters (it lands in tables and pull requests)
_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~:/?#@!$&'*+,;=%()-]*)?")


def _link(value: object) -> str | None:
    """An optional link in an answer: None unless it is an http(s) URL of that shape."""
    return value if isinstance(value, str) and len(value) <= 2048 and _LINK.fullmatch(value) else None


#: what an upstream's version or tag looks like (v1.2.3, jq-1.8.2, go1.22.1, 3.12.1, bookworm-20240101)
_VERSION_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}")


def _version(value: object, url: str, what: str) -> str:
    """A version or tag name in an answer: a JSON string (a number or an object is another
    shape than the API documents, and fails the upstream like an error answer)."""
    if not isinstance(value, str):
        raise UpstreamError(f"{url}: unexpected answer ({what} is not a JSON string)")
    return value


def shaped(releases: list[Release]) -> list[Release]:
    """Only the releases whose name has a version's shape: a name with spaces, markup, control,
    bidirectional or invisible characters, or over 128 characters, is nobody's version, and
    never reaches a table, the spec or a pull request."""
    return [release for release in releases if _VERSION_SHAPE.fullmatch(release.name)]


@dataclass(frozen=True)
class GitHubReleases:
    base: str
    repo: str

    @property
    def label(self) -> str:
        return f"github:{self.repo}"

    def releases(self, http: Http) -> list[Release]:
        url = f"{self.base}/repos/{self.repo}/releases?per_page=100"
        items = _expect(http.get_json(url, {"Accept": "application/vnd.github+json"}), list, url)
        return [
            Release(_version(item["tag_name"], url, "tag_name"), _when(item.get("published_at")), _link(item.get("html_url")))
            for item in items
            if isinstance(item, dict) and "tag_name" in item and not item.get("draft") and not item.get("prerelease")
        ]


@dataclass(frozen=True)
class PyPI:
    base: str
    project: str

    @property
    def label(self) -> str:
        return f"pypi:{self.project}"

    def releases(self, http: Http) -> list[Release]:
        url = f"{self.base}/pypi/{urllib.parse.quote(self.project)}/json"
        data = _expect(http.get_json(url), dict, url)
        out = []
        for version, files in _expect(data.get("releases") or {}, dict, url, "releases").items():
            files = [f for f in _expect(files or [], list, url, f"releases[{version!r}]") if isinstance(f, dict) and not f.get("yanked")]
            if files:
                times = sorted(t for f in files if (t := _when(f.get("upload_time_iso_8601"))))
                out.append(Release(version, times[0] if times else None, f"{self.base}/project/{self.project}/{version}/"))
        return out


@dataclass(frozen=True)
class Npm:
    base: str
    package: str

    @property
    def label(self) -> str:
        return f"npm:{self.package}"

    @property
    def url(self) -> str:
        """The package's document on the registry (a scope's / escaped, as npm asks)."""
        return f"{self.base}/{self.package.replace('/', '%2f')}"

    def releases(self, http: Http) -> list[Release]:
        url = self.url
        data = _expect(http.get_json(url), dict, url)
        times = _fields(data.get("time"))
        versions = _expect(data.get("versions") or {}, dict, url, "versions")
        latest = _fields(data.get("dist-tags")).get("latest")
        # `latest` is the publisher's word on what is current; higher numbers on other tags are not
        ceiling = key(latest) if isinstance(latest, str) and is_stable(latest) else None
        return [
            Release(v, _when(times.get(v)), f"https://www.npmjs.com/package/{self.package}/v/{v}")
            for v, meta in versions.items()
            if is_stable(v) and (ceiling is None or key(v) <= ceiling) and not _fields(meta).get("deprecated")
        ]

    def integrity(self, http: Http, version: str) -> str | None:
        """The ``dist.integrity`` the registry publishes for ``version`` (what npm checks a
        tarball against on install), or None when it lists none. Read from the abbreviated
        document npm installs from: the versions' dist fields, without readmes."""
        url = self.url
        data = _expect(http.get_json(url, {"Accept": "application/vnd.npm.install-v1+json"}), dict, url)
        listed = _fields(_fields(_fields(data.get("versions")).get(version)).get("dist")).get("integrity")
        return listed if isinstance(listed, str) else None


@dataclass(frozen=True)
class Crates:
    base: str
    crate: str

    @property
    def label(self) -> str:
        return f"crates:{self.crate}"

    def releases(self, http: Http) -> list[Release]:
        url = f"{self.base}/api/v1/crates/{urllib.parse.quote(self.crate)}"
        data = _expect(http.get_json(url), dict, url)
        return [
            Release(_version(v["num"], url, "num"), _when(v.get("created_at")), f"https://crates.io/crates/{self.crate}/{v['num']}")
            for v in _expect(data.get("versions") or [], list, url, "versions")
            if isinstance(v, dict) and "num" in v and not v.get("yanked")
        ]


def _go_escape(path: str) -> str:
    """The Go module proxy's case encoding: capitals become '!' + lowercase."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in path)


@dataclass(frozen=True)
class GoProxy:
    base: str
    package: str

    @property
    def label(self) -> str:
        return f"goproxy:{self.package}"

    def releases(self, http: Http) -> list[Release]:
        # the package path names a module somewhere along it: the longest prefix that has versions
        parts = self.package.split("/")
        for end in range(len(parts), 0, -1):
            module = "/".join(parts[:end])
            try:
                listing = http.get(f"{self.base}/{_go_escape(module)}/@v/list").body.decode("utf-8", errors="replace")
            except UpstreamError as exc:
                if exc.status in (404, 410):
                    continue
                raise
            versions = [v for v in listing.split() if v]
            if versions:
                return [self._release(http, module, v) for v in versions]
        raise UpstreamError(f"{self.base}: no module found for package {self.package}")

    def _release(self, http: Http, module: str, version: str) -> Release:
        return Release(version, None, f"https://pkg.go.dev/{module}@{version}")

    def published(self, http: Http, release: Release) -> datetime | None:
        module = release.url.removeprefix("https://pkg.go.dev/").rsplit("@", 1)[0] if release.url else self.package
        url = f"{self.base}/{_go_escape(module)}/@v/{_go_escape(release.name)}.info"
        return _when(_expect(http.get_json(url), dict, url).get("Time"))


@dataclass(frozen=True)
class NodeIndex:
    base: str

    label = "nodejs.org/dist"

    def releases(self, http: Http) -> list[Release]:
        url = f"{self.base}/index.json"
        return [
            Release(
                _version(item["version"], url, "version"), _when(item.get("date")), f"https://nodejs.org/en/blog/release/{item['version']}"
            )
            for item in _expect(http.get_json(url), list, url)
            if isinstance(item, dict) and "version" in item
        ]


@dataclass(frozen=True)
class PythonIndex:
    base: str

    label = "python.org"

    def releases(self, http: Http) -> list[Release]:
        url = f"{self.base}/api/v2/downloads/release/?is_published=true"
        return [
            Release(
                _version(item["name"], url, "name").removeprefix("Python "),
                _when(item.get("release_date")),
                _link(item.get("release_notes_url")),
            )
            for item in _expect(http.get_json(url), list, url)
            if isinstance(item, dict) and "name" in item and not item.get("pre_release")
        ]


@dataclass(frozen=True)
class GoIndex:
    base: str

    label = "go.dev/dl"

    def releases(self, http: Http) -> list[Release]:
        url = f"{self.base}/dl/?mode=json&include=all"
        return [
            Release(_version(item["version"], url, "version"), None, f"https://go.dev/doc/devel/release#{item['version']}")
            for item in _expect(http.get_json(url), list, url)
            if isinstance(item, dict) and "version" in item and item.get("stable", True)
        ]


@dataclass(frozen=True)
class RegistryTags:
    registry: Registry
    reference: str

    @property
    def label(self) -> str:
        return f"registry:{ImageRef.parse(self.reference)}".rsplit(":", 1)[0]

    def releases(self, http: Http) -> list[Release]:
        return [Release(tag) for tag in self.registry.tags(self.reference)]


@dataclass(frozen=True)
class GitHubCommits:
    """The head of a branch of a GitHub repository, for git tools pinned to a commit.

    Each answer is a ``Release`` named by the full commit id, dated by its committer date
    (when it landed on the branch), linking to the commit page.
    """

    base: str
    repo: str
    #: None: the repository's default branch
    branch: str | None = None

    @property
    def label(self) -> str:
        return f"github:{self.repo}"

    def _get(self, http: Http, path: str, kind: type[T]) -> tuple[T, str]:
        url = f"{self.base}/repos/{self.repo}{path}"
        return _expect(http.get_json(url, {"Accept": "application/vnd.github+json"}), kind, url), url

    def resolve_branch(self, http: Http) -> str:
        if self.branch:
            return self.branch
        data, url = self._get(http, "", dict)
        branch = data.get("default_branch")
        if not isinstance(branch, str) or not branch:
            raise UpstreamError(f"{url}: the answer names no default_branch")
        return branch

    @staticmethod
    def _commit(data: object, url: str) -> Release:
        sha = data.get("sha") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(sha, str) or len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
            raise UpstreamError(f"{url}: the answer has no full commit id")
        commit = _fields(data.get("commit"))
        dated = _fields(commit.get("committer")).get("date") or _fields(commit.get("author")).get("date")
        return Release(sha, _when(dated), _link(data.get("html_url")))

    def head(self, http: Http, branch: str) -> Release:
        data, url = self._get(http, f"/commits/{urllib.parse.quote(branch, safe='')}", dict)
        return self._commit(data, url)

    def newest_until(self, http: Http, branch: str, until: datetime) -> Release | None:
        """The newest commit on ``branch`` committed no later than ``until`` (None if none is)."""
        query = urllib.parse.urlencode(
            {"sha": branch, "until": until.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "per_page": 1}
        )
        items, url = self._get(http, f"/commits?{query}", list)
        return self._commit(items[0], url) if items else None

    def relation(self, http: Http, old: str, new: str) -> str:
        """How ``new`` relates to ``old``: ahead, behind, identical or diverged (GitHub's compare)."""
        data, url = self._get(http, f"/compare/{old}...{new}", dict)
        status = data.get("status")
        if not isinstance(status, str) or status not in ("ahead", "behind", "identical", "diverged"):
            raise UpstreamError(f"{url}: unexpected compare status {status!r}")
        return status


Source = GitHubReleases | PyPI | Npm | Crates | GoProxy | NodeIndex | PythonIndex | GoIndex | RegistryTags | GitHubCommits


def github_repo(url: str, upstreams: Upstreams) -> str | None:
    """owner/repo when ``url`` is a GitHub release download (under the configured host)."""
    base = upstreams["github"] + "/"
    if not url.startswith(base):
        return None
    parts = url[len(base) :].split("/")
    return f"{parts[0]}/{parts[1]}" if len(parts) > 3 and parts[2] == "releases" else None


def github_git_repo(url: str, upstreams: Upstreams) -> str | None:
    """owner/repo when ``url`` is a GitHub repository to clone (under the configured host)."""
    base = upstreams["github"] + "/"
    if not url.startswith(base):
        return None
    parts = url[len(base) :].rstrip("/").split("/")
    if len(parts) != 2 or not all(parts) or any(c in url for c in "?#{}"):
        return None
    return f"{parts[0]}/{parts[1].removesuffix('.git')}"


def _github_releases(upstream: Upstream, upstreams: Upstreams) -> Source | None:
    repo = github_repo(upstream.subject, upstreams)
    return GitHubReleases(upstreams["github_api"], repo) if repo else None


def _github_commits(upstream: Upstream, upstreams: Upstreams) -> Source | None:
    repo = github_git_repo(upstream.subject, upstreams)
    return GitHubCommits(upstreams["github_api"], repo, upstream.branch) if repo else None


#: a client for each listing an install method may name (generator.methods.data.Listing)
_CLIENTS: dict[str, Callable[[Upstream, Upstreams], Source | None]] = {
    "github-releases": _github_releases,
    "github-commits": _github_commits,
    "pypi": lambda upstream, upstreams: PyPI(upstreams["pypi"], upstream.subject),
    "npm": lambda upstream, upstreams: Npm(upstreams["npm"], upstream.subject),
    "crates": lambda upstream, upstreams: Crates(upstreams["crates"], upstream.subject),
    "goproxy": lambda upstream, upstreams: GoProxy(upstreams["goproxy"], upstream.subject),
    "node-index": lambda upstream, upstreams: NodeIndex(upstreams["node_index"]),
    "python-index": lambda upstream, upstreams: PythonIndex(upstreams["python_index"]),
    "go-index": lambda upstream, upstreams: GoIndex(upstreams["go_index"]),
}


def source_for(upstream: Upstream | None, upstreams: Upstreams) -> Source | None:
    """The client for the listing a tool names; None when it names none, or names one
    this configuration cannot ask (a release download that is not under the GitHub host)."""
    return _CLIENTS[upstream.listing](upstream, upstreams) if upstream else None


def why_not_asked(upstream: Upstream | None) -> str:
    """Why no client was found for ``upstream``, as `sandbox outdated` says it."""
    if upstream is not None and upstream.listing == "github-commits":
        return "not a GitHub repository: only GitHub's API is asked for a branch head (never git ls-remote)"
    return "no known upstream to ask (not a GitHub release or registry package)"
