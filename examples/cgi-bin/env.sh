#!/bin/sh
# Environment dump: every variable the server passed to this CGI script,
# as an HTML table sorted by name, plus the size of the request body.

# HTML-escape stdin: & < > " '
html_escape() {
  sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
      -e 's/"/\&quot;/g' -e "s/'/\\&#39;/g"
}

# Read the body: exactly CONTENT_LENGTH bytes if given, otherwise up to EOF.
case $CONTENT_LENGTH in
  '' | *[!0-9]*) body_size=$(wc -c) ;;
  *) body_size=$(head -c "$CONTENT_LENGTH" | wc -c) ;;
esac

printf 'Content-Type: text/html; charset=utf-8\n\n'
cat <<EOF
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Environment</title></head>
<body>
<h1>Environment</h1>
<table>
<tr><th>Name</th><th>Value</th></tr>
EOF
# One row per NAME=value line, split at the first "=".
# (Lines without "=" are continuations of a multi-line value; they are skipped.)
env | LC_ALL=C sort -t= -k1,1 | html_escape |
  sed -n 's|^\([^=]*\)=\(.*\)$|<tr><td>\1</td><td>\2</td></tr>|p'
cat <<EOF
</table>
<p>Request body: $((body_size)) bytes.</p>
<p><a href="/">Back to the index</a></p>
</body>
</html>
EOF
