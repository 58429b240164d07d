#!/usr/bin/env node
// `npm test` runs this first (pretest): the browser tests drive Debian's Chromium. On a fresh
// machine of this kind (root, apt-get, Debian's package mirror reachable) it is installed here;
// elsewhere the message says what to do. No tool ever downloads a browser of its own.
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const CHROMIUM = '/usr/bin/chromium';
if (fs.existsSync(CHROMIUM)) process.exit(0);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
let aptGet = false;
try {
  execSync('command -v apt-get', { stdio: 'ignore', shell: '/bin/sh' });
  aptGet = true;
} catch {
  /* not Debian */
}
if (!root || !aptGet) {
  process.stderr.write(
    `The browser tests need Debian's Chromium at ${CHROMIUM}: install it with "apt-get install -y chromium" (as root), then run npm test again.\n`,
  );
  process.exit(1);
}
process.stderr.write(`Installing Debian's chromium for the browser tests (apt-get install -y chromium)...\n`);
execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null', {
  stdio: 'inherit',
  shell: '/bin/sh',
});
