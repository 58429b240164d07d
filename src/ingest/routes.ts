import express, { Router, type RequestHandler, type Response } from 'express';
import { AppError } from '../platform';
import { parseNdjson } from './event-input';
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

export function ingestRoutes(service: IngestService, requireWrite: RequestHandler, maxBodyBytes: number): Router {
  const r = Router();
  const json = express.json({ limit: maxBodyBytes, strict: false });
  const ndjson = express.text({
    type: ['application/x-ndjson', 'application/jsonl', 'application/jsonlines'],
    limit: maxBodyBytes,
  });

  /** One event (a JSON object), a batch (a JSON array) or NDJSON (one event per line). */
  r.post('/api/events', requireWrite, json, ndjson, async (req, res) => {
    let items: unknown[];
    let single = false;
    if (req.is(['application/x-ndjson', 'application/jsonl', 'application/jsonlines'])) {
      items = parseNdjson(typeof req.body === 'string' ? req.body : '');
    } else if (req.is('application/json')) {
      if (Array.isArray(req.body)) items = req.body;
      else if (typeof req.body === 'object' && req.body !== null) {
        items = [req.body];
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
  });

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
