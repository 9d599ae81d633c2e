import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/app/run-app.js';
import { ValidationError, validationRules, validator } from '../../src/app/validate.js';
import type { App, Chunk } from '../../src/app/types.js';
import { call, makeEnviron } from '../unit/_app-harness.js';
import { runs } from './_fuzz.js';

/** What a random app does: the status and headers it answers with, when, and the chunks of its body. */
const behaviour = fc.record({
  status: fc.oneof(fc.constantFrom('200 OK', '404 Not Found', '204 No Content', '304 Not Modified', '103 Early', '200', 'OK', '099 Low', '200 OK\r\nX: y'), fc.string({ maxLength: 12 })),
  headers: fc.array(
    fc.oneof(
      fc.constantFrom(['Content-Type', 'text/plain'], ['Content-Length', '5'], ['Content-Length', 'five'], ['Connection', 'close'], ['Status', '200 OK'], ['X Bad', 'v'], ['X-Ok', 'a\nb'], ['X-Tab', 'a\tb']),
      fc.tuple(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 })),
      fc.constantFrom(['only-one'], 'not a pair', null, [1, 2]),
    ),
    { maxLength: 4 },
  ),
  chunks: fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), fc.constantFrom(42, null, undefined, {})), { maxLength: 4 }),
  startAfter: fc.nat({ max: 3 }),
  startTwice: fc.boolean(),
  asyncBody: fc.boolean(),
});

function appOf(b: fc.RecordValue<typeof behaviour.constraints>): App {
  return (_environ, startResponse) => {
    const start = () => {
      startResponse(b.status as string, b.headers as [string, string][]);
      if (b.startTwice) startResponse('500 Again', [['Content-Type', 'text/plain']]);
    };
    const body = function* () {
      for (let i = 0; i < b.chunks.length; i++) {
        if (i === b.startAfter) start();
        yield b.chunks[i] as Chunk;
      }
      if (b.startAfter >= b.chunks.length) start();
    };
    if (!b.asyncBody) return body();
    return (async function* () {
      yield* body();
    })();
  };
}

describe('fuzz: the app validator', () => {
  it('lets an app through or names the rule it broke: no other failure ever comes out of it', async () => {
    await fc.assert(fc.asyncProperty(behaviour, async (b) => {
      const outcome = await call(validator(appOf(b as never)), makeEnviron()).then(
        (r) => ({ ok: r.status }),
        (e: unknown) => ({ err: e }),
      );
      if ('ok' in outcome) return;
      expect(outcome.err).toBeInstanceOf(AppError);
      const cause = (outcome.err as AppError).cause;
      expect(cause).toBeInstanceOf(ValidationError);
      expect(Object.keys(validationRules)).toContain((cause as ValidationError).rule);
    }), runs(1500));
  });
});
