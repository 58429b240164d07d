import fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { projectRoot } from './views';

/**
 * Scripts and styles, all served by the app itself (the machine may have no internet): the
 * vendored libraries straight from node_modules, and public/ (the pages' own CSS and JS).
 */
const VENDOR: Record<string, { pkg: string; file: string }> = {
  'htmx.min.js': { pkg: 'htmx.org', file: 'dist/htmx.min.js' },
  'chart.umd.min.js': { pkg: 'chart.js', file: 'dist/chart.umd.min.js' },
  'chartjs-chart-sankey.min.js': { pkg: 'chartjs-chart-sankey', file: 'dist/chartjs-chart-sankey.min.js' },
};

export function assetRoutes(): Router {
  const r = Router();
  const cache = { maxAge: '1h', immutable: false, index: false, fallthrough: false } as const;
  for (const [name, v] of Object.entries(VENDOR)) {
    const file = path.join(packageDir(v.pkg), v.file);
    r.get(`/assets/vendor/${name}`, (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.type('application/javascript').sendFile(file);
    });
  }
  r.use('/assets', express.static(path.join(projectRoot(), 'public'), cache));
  return r;
}

/** A package's folder; found from its main entry, since not every package exports package.json. */
function packageDir(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (path.basename(dir) !== pkg.split('/').pop() || !fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package folder of ${pkg} not found`);
    dir = up;
  }
  return dir;
}
