#!/usr/bin/env node
// Environment dump: every variable the server passed to this CGI script,
// as an HTML table sorted by name, plus the size of the request body.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

function respond(bodySize) {
  const rows = Object.keys(process.env)
    .sort()
    .map((name) => `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(process.env[name])}</td></tr>\n`)
    .join('');
  process.stdout.write(`Content-Type: text/html; charset=utf-8

<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Environment</title></head>
<body>
<h1>Environment</h1>
<table>
<tr><th>Name</th><th>Value</th></tr>
${rows}</table>
<p>Request body: ${bodySize} bytes.</p>
<p><a href="/">Back to the index</a></p>
</body>
</html>
`);
}

// Read the body: exactly CONTENT_LENGTH bytes if given, otherwise up to EOF.
const length = process.env.CONTENT_LENGTH ?? '';
const limit = /^[0-9]+$/.test(length) ? Number(length) : Infinity;
let size = 0;
let done = false;
const finish = () => {
  if (!done) {
    done = true;
    respond(Math.min(size, limit));
  }
};

if (limit === 0) {
  finish();
} else {
  process.stdin.on('data', (chunk) => {
    size += chunk.length;
    if (size >= limit) {
      process.stdin.destroy();
      finish();
    }
  });
  process.stdin.on('end', finish);
  process.stdin.on('error', finish);
}
