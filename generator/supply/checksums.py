"""Reading an upstream checksum file as files/sandbox-install-release reads it at build time
(with awk: lines end at \\n, fields are split at blanks), so that `sandbox lock` accepts
exactly what the build would accept.

sha256sum format: the first line naming the file (``HASH  NAME``, the name possibly with
sha256sum's binary-mode ``*`` or a ``./``), or the first line holding one bare digest (the
asset's own ``.sha256``), whichever comes first. bsd format: ``SHA256 (NAME) = HASH``.
"""

from __future__ import annotations

import re

_BLANKS = re.compile(r"[ \t]+")


def listed_sha256(text: str, name: str, file_format: str) -> str | None:
    """What ``text`` lists as the digest of ``name``, as written, or None when it lists none."""
    for line in text.split("\n"):
        fields = [field for field in _BLANKS.split(line) if field]
        if file_format == "bsd":
            if len(fields) >= 4 and fields[0] == "SHA256" and fields[1] in (f"({name})", f"(./{name})"):
                return fields[3]
            continue
        if len(fields) >= 2 and fields[1] in (name, f"*{name}", f"./{name}", f"*./{name}"):
            return fields[0]
        if len(fields) == 1:
            return fields[0]
    return None
