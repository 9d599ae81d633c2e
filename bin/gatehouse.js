#!/usr/bin/env -S node --max-semi-space-size=4
// The gatehouse command (built code lives in dist/; `npm run build` makes it). V8's young generation is capped
// at 4 MiB a semi-space (its default grows to 16): under load that kept the front's peak RSS ~20 MiB lower at
// the same rate and CPU per request (wrk, hello, c=64); at 2 MiB the CPU per request rose.
import { main } from '../dist/src/front/cli.js';

process.exitCode = await main(process.argv.slice(2));
