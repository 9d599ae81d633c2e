#!/bin/sh
# Exercise one: fill the blanks of a sentence with CGI environment variables
# (each value HTML-escaped, each in an element with a stable id).

# Print $1 HTML-escaped: & < > " '
esc() {
  printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
                         -e 's/"/\&quot;/g' -e "s/'/\\&#39;/g"
}

remote_addr=$(esc "$REMOTE_ADDR")
remote_port=$(esc "$REMOTE_PORT")
server_name=$(esc "$SERVER_NAME")
server_port=$(esc "$SERVER_PORT")
path=$(esc "$SCRIPT_NAME$PATH_INFO")
query=$(esc "$QUERY_STRING")
protocol=$(esc "$SERVER_PROTOCOL")
software=$(esc "$SERVER_SOFTWARE")

printf 'Content-Type: text/html; charset=utf-8\n\n'
cat <<EOF
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Exercise one</title></head>
<body>
<h1>Exercise one</h1>
<p>Hello, your browser at <span id="remote-addr">$remote_addr</span>:<span id="remote-port">$remote_port</span>
asked <span id="server-name">$server_name</span> on port <span id="server-port">$server_port</span>
for <span id="path">$path</span> (query: <span id="query">$query</span>)
using <span id="protocol">$protocol</span>;
this server runs <span id="software">$software</span>.</p>
<p><a href="/">Back to the index</a></p>
</body>
</html>
EOF
