// /add/: the adding machine. ?operand=2&operand=3 → "your total is 5" (query string or a posted form).
import { readForm, type App } from 'gatehouse';
import { text } from './html.js';

const integer = /^\s*-?\d+\s*$/;

const application: App = async (environ, startResponse) => {
  const form = await readForm(environ);
  const operands = form.getList('operand');
  const bad = operands.find((o) => !integer.test(o));
  if (bad !== undefined) return text(startResponse, `operand "${bad}" is not an integer\n`, '400 Bad Request');
  const total = operands.reduce((sum, o) => sum + BigInt(o.trim()), 0n);
  return text(startResponse, `your total is ${total}\n`);
};

export default application;
