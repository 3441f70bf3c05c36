"""Supply chain upkeep: lock digests, find newer releases, bump versions, audit verification."""
