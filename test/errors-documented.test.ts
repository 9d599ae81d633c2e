// The error catalogue and the README's status table cannot drift apart.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../src/front/errors.js';
import { root } from './_gateway.js';

const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const rows = new Map(
  [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]),
);

describe('the failure table', () => {
  it.each(Object.entries(errorCatalogue))('documents %s in the README with its status', (code, entry) => {
    expect(rows.get(code)).toBe(entry.status);
  });

  it('documents no code the catalogue does not have', () => {
    expect([...rows.keys()].filter((c) => !(c in errorCatalogue))).toEqual([]);
  });

  it('gives every code a public sentence without detail', () => {
    for (const entry of Object.values(errorCatalogue)) expect(entry.message).toMatch(/^[A-Z].*\.$/);
  });
});
