// A small in-memory book database for the bookshelf app.

export interface Book {
  id: string;
  title: string;
  author: string;
  year: number;
}

const books: readonly Book[] = [
  { id: '1', title: 'The Pragmatic Programmer', author: 'Andrew Hunt and David Thomas', year: 1999 },
  { id: '2', title: 'Structure and Interpretation of Computer Programs', author: 'Harold Abelson and Gerald Jay Sussman', year: 1985 },
  { id: '3', title: 'The C Programming Language', author: 'Brian Kernighan and Dennis Ritchie', year: 1978 },
  { id: '4', title: 'TCP/IP Illustrated, Volume 1', author: 'W. Richard Stevens', year: 1994 },
  { id: '5', title: 'Programming Pearls', author: 'Jon Bentley', year: 1986 },
];

export const allBooks = (): readonly Book[] => books;
export const findBook = (id: string): Book | undefined => books.find((b) => b.id === id);
