#!/usr/bin/env node
// Runs before every build: removes compiled files in dist/ whose TypeScript source is gone.
// Without it, a module that became a folder (storage/moves.ts -> storage/moves/index.ts) leaves
// its old dist/storage/moves.js behind, and require('./moves') loads that stale file first.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

function sourceOf(file) {
  const rel = path.relative(dist, file);
  const base = rel.replace(/\.js\.map$|\.d\.ts$|\.js$/, '');
  return [path.join(root, `${base}.ts`), path.join(root, `${base}.js`)];
}

function sweep(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      sweep(p);
      if (fs.readdirSync(p).length === 0) fs.rmdirSync(p);
    } else if (/\.(js|js\.map|d\.ts)$/.test(e.name) && !sourceOf(p).some((s) => fs.existsSync(s))) {
      fs.rmSync(p, { force: true });
    }
  }
}

for (const top of ['src', 'migrations', 'test']) sweep(path.join(dist, top));
