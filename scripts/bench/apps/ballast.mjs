// Bench app: holds BENCH_BALLAST_MB MiB of touched memory from import on, so a pool-mode front is as large as
// one whose workers loaded a big app (issue 6: does spawning CGI children slow down as the front grows?).
// Each pool worker imports it once, so the bench sets the per-worker share on the gateway's environment.
const mib = Number(process.env.BENCH_BALLAST_MB ?? 0);
const pieceBytes = 16 * 1024 * 1024;
// Filled with a non-zero byte: untouched pages are not resident, and fork() cost follows resident memory.
const held = [];
for (let left = mib * 1024 * 1024; left > 0; left -= pieceBytes) held.push(Buffer.alloc(Math.min(pieceBytes, left), 0x5a));

export default (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`holding ${held.length ? mib : 0} MiB\n`];
};
