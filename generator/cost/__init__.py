"""`sandbox cost`: what each tool costs in build time and image bytes (attribute.py from a
build's steps and the image's layers; report.py the result, its JSON and comparison; show.py
the table and the Markdown)."""
