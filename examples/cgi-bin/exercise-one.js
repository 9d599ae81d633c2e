#!/usr/bin/env node
// Exercise one: fill the blanks of a sentence with CGI environment variables
// (each value HTML-escaped, each in an element with a stable id).

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

// A <span> holding the escaped values of the named variables.
const blank = (id, ...names) =>
  `<span id="${id}">${escapeHtml(names.map((name) => process.env[name] ?? '').join(''))}</span>`;

process.stdout.write(`Content-Type: text/html; charset=utf-8

<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Exercise one</title></head>
<body>
<h1>Exercise one</h1>
<p>Hello, your browser at ${blank('remote-addr', 'REMOTE_ADDR')}:${blank('remote-port', 'REMOTE_PORT')}
asked ${blank('server-name', 'SERVER_NAME')} on port ${blank('server-port', 'SERVER_PORT')}
for ${blank('path', 'SCRIPT_NAME', 'PATH_INFO')} (query: ${blank('query', 'QUERY_STRING')})
using ${blank('protocol', 'SERVER_PROTOCOL')};
this server runs ${blank('software', 'SERVER_SOFTWARE')}.</p>
<p><a href="/">Back to the index</a></p>
</body>
</html>
`);
