#!/usr/bin/env node
// The adding machine: sums every "operand" in the query string, e.g.
// /cgi-bin/add.js?operand=7&operand=-3 answers "your total is 4".

// Print a text/plain response whose Content-Length matches the body.
function respond(body, status) {
  const head = status ? `Status: ${status}\n` : '';
  process.stdout.write(
    head +
      'Content-Type: text/plain; charset=utf-8\n' +
      `Content-Length: ${Buffer.byteLength(body)}\n\n` +
      body,
  );
}

const query = new URLSearchParams(process.env.QUERY_STRING ?? '');
let total = 0n; // BigInt, so big numbers add up exactly
let bad = null;
for (const operand of query.getAll('operand')) {
  if (!/^-?[0-9]+$/.test(operand.trim())) {
    bad = operand;
    break;
  }
  total += BigInt(operand.trim());
}

if (bad === null) {
  respond(`your total is ${total}\n`);
} else {
  respond(`operand "${bad}" is not an integer\n`, '400 Bad Request');
}
