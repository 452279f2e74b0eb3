#!/usr/bin/env node
// The `fersweep` command (package.json "bin", so `npx fersweep …` works after `npm ci`, which builds).

// The lockfile pins the AWS SDK; its notice about *future* SDK versions needing Node 22 is noise to
// a user of this command (the runtime image's Node is pinned with it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { run } = await import('../apps/fersweep/dist/index.js');
// Exit explicitly: keep-alive sockets (S3, NATS) must not hold a finished command open.
process.exit(await run(process.argv.slice(2)));
