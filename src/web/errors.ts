import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { AppError, requestIdOf, type Logger } from '../platform';

/**
 * The one place an error becomes an HTTP answer: `{detail, …}` for the API, and for the pages
 * (routes that set res.locals.html) the same message as HTML — a fragment for HTMX requests,
 * which swap it into their target, or a small page. Never a stack trace or a path.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      return send(req, res, err.status, { detail: err.message, ...err.extra });
    }
    const e = err as { type?: string; status?: number; limit?: number; message?: string };
    switch (e.type) {
      case 'entity.too.large':
        return send(req, res, 413, {
          detail: `body: larger than the limit of ${formatBytes(e.limit ?? 0)}`,
          field: 'body',
          limit_bytes: e.limit,
        });
      case 'entity.parse.failed':
        return send(req, res, 400, { detail: `body: invalid JSON (${sanitize(e.message)})`, field: 'body' });
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return send(req, res, 415, { detail: `body: ${sanitize(e.message)}`, field: 'body' });
      case 'request.aborted':
        return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return send(req, res, e.status, { detail: sanitize(e.message) });
    }
    // The request id lets an operator find the logged error; nothing else of it reaches the client.
    const requestId = requestIdOf(res);
    logger.error('http.unhandled_error', {
      request_id: requestId,
      method: req.method,
      path: req.path,
      error: err as Error,
      stack: (err as Error)?.stack,
    });
    send(req, res, 500, { detail: 'internal error', ...(requestId ? { request_id: requestId } : {}) });
  };
}

export const notFound: RequestHandler = (req, res) => {
  send(req, res, 404, { detail: `no route for ${req.method} ${req.path}` });
};

function send(req: Request, res: Response, status: number, body: { detail: string } & Record<string, unknown>): void {
  // Refused before its body was read (401, 413, …): close the connection after the answer, or
  // Node would go on reading and discarding whatever the client still sends.
  if (!req.complete) res.setHeader('Connection', 'close');
  if (res.locals.html !== true) {
    res.status(status).json(body);
    return;
  }
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  const message = `<div class="alert alert-error" role="alert"><strong>${status === 403 ? 'Not allowed' : status >= 500 ? 'Error' : 'Could not do that'}:</strong> ${escapeHtml(body.detail)}</div>`;
  if (req.get('hx-request')) {
    res.send(message);
    return;
  }
  res.send(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${status} · Data in Motion</title><link rel="stylesheet" href="/assets/app.css"></head>` +
      `<body><main id="main" class="narrow"><h1>${status}</h1>${message}<p><a href="/">Back to the overview</a></p></main></body></html>`,
  );
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function sanitize(message: string | undefined): string {
  return (message ?? 'bad request').replace(/\/[^\s'"]+/g, '…').slice(0, 300);
}
