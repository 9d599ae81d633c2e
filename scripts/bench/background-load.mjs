// A load that runs beside a measurement, in its own process so it does not share the measuring event loop:
// autocannon against URL with C connections until SIGTERM. Usage: node background-load.mjs URL C [EXPECT_BODY]
// Prints `{"running":true}` once the load is steady (its first `steadyAfter` answers are in), then one JSON
// result line when stopped.
import autocannon from 'autocannon';

const [url, connections, expectBody] = process.argv.slice(2);
// The measurement beside it starts then: it times the two loads together, not this one's start.
const steadyAfter = 50;
let answers = 0;
let announced = false;
const instance = autocannon({ url, connections: Number(connections), duration: 3600, expectBody, timeout: 10 }, (err, r) => {
  if (err) {
    process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
    process.exit(1);
  }
  const failures = r.non2xx + r.errors + r.timeouts + r.mismatches;
  process.stdout.write(`${JSON.stringify({ requests: r.requests.total, durationS: r.duration, rps: r.requests.total / r.duration, failures, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, mismatches: r.mismatches })}\n`);
  process.exit(0);
});
instance.on('response', () => {
  if (announced || ++answers < steadyAfter) return;
  announced = true;
  process.stdout.write('{"running":true}\n');
});
process.once('SIGTERM', () => instance.stop());
