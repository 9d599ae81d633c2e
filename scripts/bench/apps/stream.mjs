// Bench app for the memory check: streams ?bytes=N (default 1 GiB) of 'a' in 64 KiB chunks, produced lazily, so
// any growth of the gateway's memory is the gateway buffering, not the app.
const chunk = new Uint8Array(64 * 1024).fill(0x61);

export default (environ, startResponse) => {
  const total = Number(new URLSearchParams(environ.QUERY_STRING).get('bytes') ?? 1024 ** 3);
  startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
  return (function* body() {
    for (let sent = 0; sent < total; sent += chunk.length) yield sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent);
  })();
};
