// Bench app for the memory check: reads the request body as it streams in and answers with its byte count,
// holding no more than one chunk at a time.
export default async (environ, startResponse) => {
  let bytes = 0;
  for await (const chunk of environ['gateway.input']) bytes += chunk.length;
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`received ${bytes} bytes\n`];
};
