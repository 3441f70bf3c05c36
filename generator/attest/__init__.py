"""What travels with a pushed image besides its layers: the SBOM attached to it in the registry,
a signature over its digest, BuildKit's provenance; and `sandbox verify`, which reads them back."""
