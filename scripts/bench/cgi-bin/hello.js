#!/usr/bin/env node
// The bench's Node CGI script: the same response as hello.sh, so the difference is the interpreter's start-up.
process.stdout.write('Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n');
