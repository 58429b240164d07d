import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';

/** The one place an error becomes an HTTP answer: `{detail, …}`, never a stack trace or a path. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      res.status(err.status).json({ detail: err.message, ...err.extra });
      return;
    }
    const e = err as { type?: string; status?: number; limit?: number; message?: string };
    switch (e.type) {
      case 'entity.too.large':
        res.status(413).json({ detail: `body: larger than the limit of ${formatBytes(e.limit ?? 0)}`, field: 'body', limit_bytes: e.limit });
        return;
      case 'entity.parse.failed':
        res.status(400).json({ detail: `body: invalid JSON (${sanitize(e.message)})`, field: 'body' });
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        res.status(415).json({ detail: `body: ${sanitize(e.message)}`, field: 'body' });
        return;
      case 'request.aborted':
        return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ detail: sanitize(e.message) });
      return;
    }
    logger.error('http.unhandled_error', { method: req.method, path: req.path, error: err as Error, stack: (err as Error)?.stack });
    res.status(500).json({ detail: 'internal error' });
  };
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ detail: `no route for ${req.method} ${req.path}` });
};

function formatBytes(n: number): string {
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function sanitize(message: string | undefined): string {
  return (message ?? 'bad request').replace(/\/[^\s'"]+/g, '…').slice(0, 300);
}
