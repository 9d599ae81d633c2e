// /books/: the bookshelf. A list page linking each title to /books/book/<id>, a detail page linking back.
import { dispatcher, type Environ, type StartResponse } from 'gatehouse';
import { allBooks, findBook } from './bookdb.js';
import { escape, page } from './html.js';

function list(environ: Environ, startResponse: StartResponse) {
  const base = environ.SCRIPT_NAME;
  const items = allBooks()
    .map((b) => `<li><a href="${escape(`${base}/book/${b.id}`)}">${escape(b.title)}</a></li>`)
    .join('\n');
  return page(startResponse, 'Books', `<ul>\n${items}\n</ul>`);
}

function detail(environ: Environ, startResponse: StartResponse, id: string) {
  const book = findBook(id);
  const back = `<p><a href="${escape(`${environ.SCRIPT_NAME}/`)}">Back to the list</a></p>`;
  if (!book) return page(startResponse, 'No such book', `<p>There is no book ${escape(id)}.</p>\n${back}`, '404 Not Found');
  return page(startResponse, book.title, `<p>By ${escape(book.author)}, ${book.year}.</p>\n${back}`);
}

export default dispatcher([
  [/\/?/, list],
  [/\/book\/([^/]+)/, detail],
]);
