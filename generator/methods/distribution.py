"""Packages of the base image's distribution as the SBOM lists them: the base stage's
(``base.packages``, rendered by the Dockerfile template itself) and the apt method's.

Both are apt packages from the same archive, so both are described here, below the
methods: the apt method and `sandbox sbom` import it, and neither imports the other.
"""

from __future__ import annotations

from generator.methods.context import RenderContext
from generator.methods.data import Finding, SbomComponent, SbomDownload, Verification
from generator.purl import purl


def deb_component(
    ctx: RenderContext,
    package: str,
    tool: str,
    verification: str,
    downloads: tuple[SbomDownload, ...] = (),
    properties: tuple[tuple[str, str], ...] = (),
) -> SbomComponent:
    """One apt package as an SBOM component: pkg:deb/DISTRO/NAME[@PIN]?arch=..&distro=...

    The version is the spec's pin as written (a dpkg glob such as 8.5.* picks the newest
    match at build time); an unpinned package has none. The distribution is the base
    image's (ubuntu:24.04 -> namespace ubuntu, distro=ubuntu-24.04). arch is given only
    when the spec builds for one platform: the same component stands for every platform.
    """
    name, _, pin = package.partition("=")
    base = ctx.spec.base
    distro = base.image.rsplit("/", 1)[-1]
    qualifiers = {"distro": f"{distro}-{base.tag}", "arch": ctx.arches[0] if len(ctx.arches) == 1 else ""}
    return SbomComponent(
        name=name,
        version=pin or None,
        purl=purl("deb", name, pin or None, namespace=distro, qualifiers=qualifiers),
        tool=tool,
        method="apt",
        verification=verification,
        downloads=tuple(downloads),
        properties=tuple(properties),
    )


#: how a package from the distribution's own archive is verified
DISTRIBUTION = Verification("package-manager", "apt, signed distribution archive")


def base_package_findings(ctx: RenderContext) -> list[Finding]:
    """Under ``policy: {apt_pins: required}``, the base packages without a name=version pin,
    with the spec's reason (the apt tools list their own: AptTool.audit)."""
    if ctx.spec.policy.apt_pins != "required":
        return []
    unpinned = [p for p in ctx.spec.base.packages if "=" not in p]
    if not unpinned:
        return []
    reason = ctx.spec.base.unpinned_reason or "no reason given"
    return [Finding("base packages", "unpinned-apt", f"{', '.join(unpinned)}: {reason}")]


def base_components(ctx: RenderContext) -> list[SbomComponent]:
    """The base stage's packages (base.packages), as components of the image."""
    return [deb_component(ctx, p, "base", str(DISTRIBUTION)) for p in ctx.spec.base.packages]
