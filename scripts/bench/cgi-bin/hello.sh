#!/bin/sh
# The bench's CGI script: the smallest complete document response.
printf 'Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n'
