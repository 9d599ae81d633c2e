#!/usr/bin/env node
// The gatehouse command (built code lives in dist/; `npm run build` makes it).
import { main } from '../dist/src/front/cli.js';

process.exitCode = await main(process.argv.slice(2));
