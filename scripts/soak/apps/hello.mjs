// Soak app: the smallest answer.
export default (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['hello\n'];
};
