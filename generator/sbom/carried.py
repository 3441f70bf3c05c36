"""Whether the SBOM an image carries (at generator.paths.SBOM_IMAGE_PATH) is the one
`sandbox sbom` makes of its spec: read by `sandbox test` (generator/docker/smoke.py)."""

from __future__ import annotations

import json

from generator.spec import Spec


def sbom_problems(text: str, spec: Spec, profile: str) -> list[str]:
    """How the SBOM an image carries differs from the one `sandbox sbom` makes of ``spec``:
    not CycloneDX JSON, another image or profile, other tools. Empty when it matches."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        return [f"not JSON ({exc})"]
    except RecursionError:
        return ["not a CycloneDX document (JSON nested too deeply)"]
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        return ["not a CycloneDX document"]
    # the image under test wrote this file: any part of it may have another shape
    problems = []
    metadata = document.get("metadata")
    component = metadata.get("component") if isinstance(metadata, dict) else None
    component = component if isinstance(component, dict) else {}
    if component.get("name") != spec.image.name:
        problems.append(f"describes image {component.get('name')!r}, not {spec.image.name!r}")
    profiles = [p.get("value") for p in _objects(component.get("properties")) if p.get("name") == "sandbox:profile"]
    if profiles != [profile]:
        problems.append(f"describes profile {', '.join(map(str, profiles)) or 'none'}, not {profile}")
    found = {
        str(prop.get("value"))
        for c in _objects(document.get("components"))
        for prop in _objects(c.get("properties"))
        if prop.get("name") == "sandbox:tool"
    }
    # the base stage's packages are listed as the tool "base" (methods/distribution.py)
    wanted = {tool.name for tool in spec.tools_for(profile)} | ({"base"} if spec.base.packages else set())
    if found != wanted:
        differences = []
        if missing := sorted(wanted - found):
            differences.append(f"missing {', '.join(missing)}")
        if extra := sorted(found - wanted):
            differences.append(f"not in the spec {', '.join(extra)}")
        problems.append("tools differ from the spec's: " + "; ".join(differences))
    return problems


def _objects(value: object) -> list[dict[str, object]]:
    """The objects of a JSON list; none when ``value`` is not a list."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
