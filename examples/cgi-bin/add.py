#!/usr/bin/env python3
# The adding machine: sums every "operand" in the query string, e.g.
# /cgi-bin/add.py?operand=2&operand=3 answers "your total is 5".
import os
import re
import sys
from urllib.parse import parse_qs


def respond(body, status=None):
    """Print a text/plain response whose Content-Length matches the body."""
    data = body.encode("utf-8", "replace")
    head = f"Status: {status}\n" if status else ""
    head += "Content-Type: text/plain; charset=utf-8\n"
    head += f"Content-Length: {len(data)}\n\n"
    sys.stdout.buffer.write(head.encode("ascii") + data)


query = parse_qs(os.environ.get("QUERY_STRING", ""), keep_blank_values=True)
total = 0
for operand in query.get("operand", []):
    if not re.fullmatch(r"-?[0-9]+", operand.strip()):
        respond(f'operand "{operand}" is not an integer\n', "400 Bad Request")
        sys.exit()
    total += int(operand)
respond(f"your total is {total}\n")
