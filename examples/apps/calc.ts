// /calc/: the calculator. /calc/add/23/42 → 65; also subtract, multiply, divide. Works mounted at / too.
import { dispatcher, type Environ, type StartResponse } from 'gatehouse';
import { escape, page } from './html.js';

const operations: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
};
const number = /^-?\d+(\.\d+)?$/;

function home(environ: Environ, startResponse: StartResponse) {
  const base = environ.SCRIPT_NAME;
  const examples = ['add/23/42', 'subtract/23/42', 'multiply/3/5', 'divide/6/3']
    .map((e) => `<li><a href="${escape(`${base}/${e}`)}">${escape(`${base}/${e}`)}</a></li>`)
    .join('\n');
  return page(
    startResponse,
    'Calculator',
    `<p>Put the operation and two numbers in the path: <code>${escape(base)}/OPERATION/A/B</code>, ` +
      `where OPERATION is add, subtract, multiply or divide.</p>\n<ul>\n${examples}\n</ul>`,
  );
}

function calculate(_environ: Environ, startResponse: StartResponse, op: string, a = '', b = '') {
  const operation = operations[op];
  if (!operation) return page(startResponse, 'Unknown operation', `<p>There is no operation "${escape(op)}".</p>`, '404 Not Found');
  if (!number.test(a) || !number.test(b)) {
    return page(startResponse, 'Bad operands', `<p>${escape(op)} needs two numbers, as in <code>/${escape(op)}/3/5</code>.</p>`, '400 Bad Request');
  }
  if (op === 'divide' && Number(b) === 0) return page(startResponse, 'Division by zero', '<p>Cannot divide by zero.</p>', '400 Bad Request');
  const result = operation(Number(a), Number(b));
  return page(startResponse, `${a} ${op} ${b}`, `<p>The result is <output id="result">${result}</output>.</p>`);
}

export default dispatcher([
  [/\/?/, home],
  [/\/([^/]+)(?:\/([^/]*))?(?:\/([^/]*))?\/?/, calculate],
]);
