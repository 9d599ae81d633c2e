// Bench app: a stand-in for a heavy framework. Importing it burns BENCH_IMPORT_MS of CPU (busy-wait, as parsing
// and compiling a large dependency tree would); each request is then as cheap as hello. The bench sets the
// variable on the gateway (pool workers inherit the front's environment) and with --set-env (CGI children
// get a clean environment, so only --set-env reaches them).
const costMs = Number(process.env.BENCH_IMPORT_MS ?? 0);
const until = performance.now() + costMs;
while (performance.now() < until) {
  // spin: the cost is CPU, like a real import
}

export default (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`imported in ${costMs} ms\n`];
};
