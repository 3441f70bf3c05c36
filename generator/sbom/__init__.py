"""The SBOM, in one place (each install method says what it contributes through
``ToolBase.sbom_components``; the rest is here):

- :mod:`generator.sbom.document`: `sandbox sbom`, the CycloneDX or SPDX document of one
  profile, from sandbox.yaml and sandbox.lock alone;
- :mod:`generator.sbom.diff`: what changed between two such documents (`sbom --diff`, the
  weekly update's pull request);
- :mod:`generator.sbom.carried`: whether the SBOM an image carries is the one of its spec
  (`sandbox test`).

Nothing is imported here: a command loads the module it needs.
"""
