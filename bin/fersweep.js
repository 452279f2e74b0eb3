#!/usr/bin/env node
// The `fersweep` command (package.json "bin", so `npx fersweep …` works after `npm ci`, which builds).
import { run } from '../packages/cli/dist/index.js';

// Exit explicitly: keep-alive sockets (S3, NATS) must not hold a finished command open.
process.exit(await run(process.argv.slice(2)));
