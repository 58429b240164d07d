import fs from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';
import type { Response } from 'express';
import { sessionOf } from '../auth';
import { fmt } from './format';

/** The project's root (where package.json is), from src/web or dist/src/web alike. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

/**
 * EJS templates in views/. Every page gets the signed-in user, the CSRF token for its meta tag
 * and hx-headers, the current path (for the navigation) and the formatters. EJS escapes every
 * `<%= %>` output, so data never becomes markup.
 */
export class Views {
  readonly dir: string;

  constructor(
    dir = path.join(projectRoot(), 'views'),
    private readonly cache = true,
  ) {
    this.dir = dir;
  }

  render(res: Response, view: string, model: Record<string, unknown>, status = 200): void {
    const s = sessionOf(res);
    const locals = {
      user: s?.user ?? null,
      csrf: s?.csrf ?? '',
      path: (res.req.baseUrl ?? '') + res.req.path,
      // The address this browser reached us at, for copy-paste examples (escaped like any text).
      baseUrl: `${res.req.protocol}://${res.req.get('host') ?? 'localhost'}`,
      fmt,
      title: 'Data in Motion',
      ...model,
    };
    const html = ejs.render(this.template(view), locals, {
      filename: path.join(this.dir, `${view}.ejs`),
      cache: this.cache,
      async: false,
    });
    res.status(status).type('html').setHeader('Cache-Control', 'no-store');
    res.send(html);
  }

  private template(view: string): string {
    // With cache on, ejs keeps the compiled function by filename and ignores this text after the
    // first call; reading it anyway would cost a file read per render, so remember it too.
    let t = this.texts.get(view);
    if (t === undefined || !this.cache) {
      t = fs.readFileSync(path.join(this.dir, `${view}.ejs`), 'utf8');
      this.texts.set(view, t);
    }
    return t;
  }

  private readonly texts = new Map<string, string>();
}
