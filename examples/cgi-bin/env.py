#!/usr/bin/env python3
# Environment dump: every variable the server passed to this CGI script,
# as an HTML table sorted by name, plus the size of the request body.
import html
import os
import sys

# Read the body: exactly CONTENT_LENGTH bytes if given, otherwise up to EOF.
length = os.environ.get("CONTENT_LENGTH", "")
if length.isascii() and length.isdigit():
    body = sys.stdin.buffer.read(int(length))
else:
    body = sys.stdin.buffer.read()

rows = "".join(
    f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>\n"
    for name, value in sorted(os.environ.items())
)
page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Environment</title></head>
<body>
<h1>Environment</h1>
<table>
<tr><th>Name</th><th>Value</th></tr>
{rows}</table>
<p>Request body: {len(body)} bytes.</p>
<p><a href="/">Back to the index</a></p>
</body>
</html>
"""
out = sys.stdout.buffer
out.write(b"Content-Type: text/html; charset=utf-8\n\n")
out.write(page.encode("utf-8", "replace"))
