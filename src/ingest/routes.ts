import express, { Router, type RequestHandler, type Response } from 'express';
import { AppError } from '../platform';
import { parseNdjson } from './event-input';
import { directJson, readJson } from './json-body';
import type { IngestService } from './service';

/**
 * 202 with a JSON body, written straight out: `res.json` would hash the body for an ETag, which
 * no client of a POST uses and which cost a few percent of single-event throughput.
 */
function accept(res: Response, body: string): void {
  res.status(202).setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

const NDJSON = ['application/x-ndjson', 'application/jsonl', 'application/jsonlines'];

/**
 * POST /api/events's handlers after the write gate: one event (a JSON object), a batch (a JSON
 * array) or NDJSON (one event per line). The composition root mounts them ahead of every other
 * route (see app-http.ts), with only the layers an event needs.
 */
export function eventsHandlers(
  service: IngestService,
  requireWrite: RequestHandler,
  maxBodyBytes: number,
): RequestHandler[] {
  const json = express.json({ limit: maxBodyBytes, strict: false });
  const ndjson = express.text({
    type: NDJSON,
    limit: maxBodyBytes,
  });
  const events = eventsOf(service);

  // The common case (a small UTF-8 JSON body) is read here, without express.json's layers; the
  // rest goes on to them (see json-body.ts).
  const direct: RequestHandler = async (req, res, next) => {
    if (!directJson(req, maxBodyBytes)) return next();
    await events(res, await readJson(req), 'json');
  };

  return [
    requireWrite,
    direct,
    json,
    ndjson,
    async (req, res) => {
      const kind = req.is(NDJSON) ? 'ndjson' : req.is('application/json') ? 'json' : undefined;
      await events(res, req.body, kind);
    },
  ];
}

function eventsOf(service: IngestService) {
  return async (res: Response, body: unknown, kind: 'json' | 'ndjson' | undefined): Promise<void> => {
    let items: unknown[];
    let single = false;
    if (kind === 'ndjson') {
      items = parseNdjson(typeof body === 'string' ? body : '');
    } else if (kind === 'json') {
      if (Array.isArray(body)) items = body;
      else if (typeof body === 'object' && body !== null) {
        items = [body];
        single = true;
      } else throw AppError.badRequest('body: must be an event object or an array of events', { field: 'body' });
    } else {
      throw new AppError(
        415,
        'body: send JSON (Content-Type: application/json) or NDJSON (Content-Type: application/x-ndjson)',
        { field: 'body' },
      );
    }
    if (items.length === 0) throw AppError.badRequest('body: the batch is empty', { field: 'body' });
    const accepted = await service.ingest(items, single);
    accept(res, `{"accepted":${accepted}}`);
  };
}

export function ingestRoutes(service: IngestService, requireWrite: RequestHandler, maxBodyBytes: number): Router {
  const r = Router();
  const json = express.json({ limit: maxBodyBytes, strict: false });
  r.post('/api/events', ...eventsHandlers(service, requireWrite, maxBodyBytes));

  /** The original demo's route: one event per request, answered once it is durable. */
  r.post('/api/stream/send', requireWrite, json, async (req, res) => {
    if (!req.is('application/json') || typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw AppError.badRequest('body: must be a JSON object such as {"dataset_id": 1, "access_type": "read"}', {
        field: 'body',
      });
    }
    await service.ingest([req.body], true, 'read');
    res.json({ status: 'sent_to_kafka' });
  });

  return r;
}
