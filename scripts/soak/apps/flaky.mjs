// Soak app: about one request in a hundred ends its worker thread (process.exit in a worker ends the thread),
// the fault a crashing native module or an app calling exit would cause; the others answer 'hello'. Chance,
// not a count: workers are recycled and reloaded more often than every hundred requests.
export default (_environ, startResponse) => {
  if (Math.random() < 0.01) process.exit(3);
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['hello\n'];
};
