// Bench app: the smallest complete answer, so what is measured is the way the app is reached, not the app.
export default (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['hello\n'];
};
