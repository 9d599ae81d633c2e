// Soak app: ?mb=N MiB (default 100) of 'a', produced lazily in 64 KiB chunks, for slow readers.
const chunk = new Uint8Array(64 * 1024).fill(0x61);
export default (environ, startResponse) => {
  const total = Number(new URLSearchParams(environ.QUERY_STRING).get('mb') ?? 100) * 1024 * 1024;
  startResponse('200 OK', [['Content-Type', 'application/octet-stream'], ['Content-Length', String(total)]]);
  return (function* () {
    for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
  })();
};
