"""Package URLs (https://github.com/package-url/purl-spec), built without a dependency.

Only what the SBOM needs: percent-encoding as the spec asks (the tests compare every purl
the generator makes with packageurl-python's own rendering of the same parts).
"""

from __future__ import annotations

from urllib.parse import quote


def _quote(text: str, safe: str = ":") -> str:
    return quote(text, safe=safe)


def purl(
    kind: str,
    name: str,
    version: str | None = None,
    *,
    namespace: str | None = None,
    qualifiers: dict[str, str] | None = None,
    subpath: str | None = None,
) -> str:
    """``pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH``; qualifiers sorted by key."""
    parts = [f"pkg:{kind}/"]
    if namespace:
        parts.append("/".join(_quote(segment) for segment in namespace.strip("/").split("/") if segment) + "/")
    parts.append(_quote(name))
    if version:
        parts.append("@" + _quote(version, safe=":/"))
    kept = {key: value for key, value in (qualifiers or {}).items() if value}
    if kept:
        parts.append("?" + "&".join(f"{key}={_quote(value)}" for key, value in sorted(kept.items())))
    if subpath:
        parts.append("#" + "/".join(_quote(s) for s in subpath.strip("/").split("/") if s not in {"", ".", ".."}))
    return "".join(parts)


def github(url: str, version: str | None) -> str | None:
    """``pkg:github/OWNER/REPO@VERSION`` for a github.com URL (release asset or repository)."""
    prefix = "https://github.com/"
    if not url.startswith(prefix):
        return None
    owner, _, rest = url[len(prefix) :].partition("/")
    repo = rest.split("/", 1)[0].removesuffix(".git")
    if not owner or not repo:
        return None
    return purl("github", repo.lower(), version, namespace=owner.lower())


#: where the npm registry serves its tarballs: NAME/-/BASENAME-VERSION.tgz under it, NAME
#: being @SCOPE/BASENAME for a scoped package
NPM_REGISTRY = "https://registry.npmjs.org/"


def npm_tarball(url: str, version: str) -> str | None:
    """``pkg:npm/[%40SCOPE/]NAME@VERSION`` for the npm registry's tarball of that package at
    ``version``; None for any other URL (another host, another path, another version)."""
    package = npm_tarball_package(url, version)
    if package is None:
        return None
    scope, _, name = package.rpartition("/")
    return purl("npm", name, version, namespace=scope or None)


def npm_tarball_package(url: str, version: str, registry: str = NPM_REGISTRY) -> str | None:
    """The package (``NAME`` or ``@SCOPE/NAME``) whose tarball at ``version`` ``url`` is, as
    ``registry`` (a base URL ending in /) serves tarballs; None for any other URL."""
    if not url.startswith(registry):
        return None
    package, found, file = url[len(registry) :].partition("/-/")
    scope, _, name = package.rpartition("/")
    if not found or not name or file != f"{name}-{version}.tgz":
        return None
    if scope and (not scope.startswith("@") or "/" in scope or len(scope) == 1):
        return None
    return package
