#!/usr/bin/env node
// `npm test` runs this first (pretest): the browser tests drive Debian's Chromium and the
// PostgreSQL suites start a throw-away cluster with Debian's PostgreSQL 15. On a fresh machine of
// this kind (root, apt-get, Debian's package mirror reachable) what is missing is installed here;
// elsewhere the message says what to do. No tool ever downloads a browser of its own.
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const TOOLS = [
  { name: 'Chromium', path: '/usr/bin/chromium', pkg: 'chromium' },
  { name: 'PostgreSQL 15', path: '/usr/lib/postgresql/15/bin/initdb', pkg: 'postgresql' },
];

const missing = TOOLS.filter((t) => !fs.existsSync(t.path));
if (missing.length === 0) process.exit(0);
const pkgs = missing.map((t) => t.pkg).join(' ');
const root = typeof process.getuid === 'function' && process.getuid() === 0;
let aptGet = false;
try {
  execSync('command -v apt-get', { stdio: 'ignore', shell: '/bin/sh' });
  aptGet = true;
} catch {
  /* not Debian */
}
if (!root || !aptGet) {
  const names = missing.map((t) => `${t.name} at ${t.path}`).join(' and ');
  process.stderr.write(
    `The tests need ${names}: install with "apt-get install -y ${pkgs}" (as root), then run npm test again.\n`,
  );
  process.exit(1);
}
process.stderr.write(`Installing what the tests need (apt-get install -y ${pkgs})...\n`);
execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs} >/dev/null`, {
  stdio: 'inherit',
  shell: '/bin/sh',
});
for (const t of missing) {
  if (!fs.existsSync(t.path)) {
    process.stderr.write(`${t.name} is still missing at ${t.path} after installing ${t.pkg}.\n`);
    process.exit(1);
  }
}
