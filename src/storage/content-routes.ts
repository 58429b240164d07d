import busboy from 'busboy';
import { Router, type Request } from 'express';
import { type DatasetsService, datasetView } from '../datasets';
import { AppError, ValidationError, parseId, requestIdOf } from '../platform';
import type { ContentService } from './content-service';
import { parseRange } from './range';
import type { StorageRouteDeps } from './route-deps';

/**
 * Routes that take a raw or multipart body: mounted before the JSON body parser, so a JSON
 * file uploaded as content is stored as it is, never parsed.
 */
export function uploadRoutes(d: Pick<StorageRouteDeps, 'content' | 'datasets' | 'requireWrite'>): Router {
  const r = Router();
  const { content, datasets, requireWrite } = d;

  r.put('/api/datasets/:id/content', requireWrite, async (req, res) => {
    const id = parseId(req.params.id);
    // An empty body is most often a file that was not there (`curl --data-binary @missing` sends
    // nothing): replacing declared or stored content with nothing must be asked for.
    if (req.get('content-length') === '0' && req.query.allow_empty !== 'true') {
      const current = await datasets.get(id);
      if (current.size_gb > 0 || current.content_bytes !== null)
        throw new ValidationError(
          'body',
          `is empty: this would replace ${current.content_bytes !== null ? `${current.content_bytes} bytes of content` : `the declared ${current.size_gb} GB`} with nothing; send ?allow_empty=true if that is meant`,
        );
    }
    const stored = await content.upload(id, req);
    res.json({ ...datasetView(await datasets.get(id)), uploaded: stored });
  });

  /** Create a dataset and its content in one step (multipart/form-data: fields, then the file). */
  r.post(
    '/api/datasets',
    (req, res, next) => (req.is('multipart/form-data') ? next() : next('route')),
    requireWrite,
    async (req, res) => {
      const created = await createWithUpload(req, datasets, content);
      res
        .status(201)
        .location(`/api/datasets/${created}`)
        .json(datasetView(await datasets.get(created)));
    },
  );

  return r;
}

/** Downloads: the whole content or a range, verified as it is decrypted. */
export function contentRoutes(d: Pick<StorageRouteDeps, 'content' | 'repo'>): Router {
  const r = Router();
  const { content, repo } = d;

  r.get('/api/datasets/:id/content', async (req, res) => {
    const id = parseId(req.params.id);
    const row = await repo.content(id);
    if (!row) throw AppError.notFound('dataset not found', { dataset_id: id });
    if (!row.object_id || row.content_bytes === null) {
      throw AppError.notFound(
        'dataset has no content: it is catalog-only (upload with PUT /api/datasets/:id/content)',
        { dataset_id: id, catalog_only: true },
      );
    }
    const size = row.content_bytes;
    const etag = `"${row.content_sha256}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    const range = parseRange(req.get('range'), size);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      throw new AppError(416, `range not satisfiable: the content is ${size} bytes`);
    }
    const requestId = requestIdOf(res);
    const dl = await content.download(id, range, requestId);
    res.status(range ? 206 : 200);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(dl.length));
    if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    if (req.method === 'HEAD') {
      await dl.body.cancel();
      res.end();
      return;
    }
    res.on('close', () => {
      void dl.body.cancel();
      if (dl.body.sent > 0) content.recordRead(id, dl.body.sent);
    });
    try {
      await dl.body.sendTo(res);
    } catch (err) {
      const damage = await content.sendFailed(id, dl, err, requestId);
      if (res.headersSent) {
        // Headers are gone: the only honest signal left is to cut the connection short of its length.
        res.destroy(err as Error);
        return;
      }
      // Nothing was sent (the first chunk failed): the client still gets a status and a reason.
      for (const h of ['Content-Type', 'Content-Length', 'Content-Range', 'ETag', 'Accept-Ranges']) res.removeHeader(h);
      throw damage ?? err;
    }
  });

  return r;
}

/** Parses multipart fields into a dataset, then streams the file part into it. */
function createWithUpload(req: Request, datasets: DatasetsService, content: ContentService): Promise<number> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: 64 * 1024 } });
    } catch (err) {
      reject(AppError.badRequest(`body: ${(err as Error).message}`, { field: 'body' }));
      return;
    }
    const fields: Record<string, unknown> = {};
    let work: Promise<number> | undefined;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      reject(err);
    };
    bb.on('field', (name, value) => {
      if (name === 'size_gb') fields[name] = value === '' ? undefined : Number(value);
      else if (name === 'tags')
        fields[name] =
          value === ''
            ? undefined
            : value
                .split(',')
                .map((t) => t.trim())
                .filter(Boolean);
      else fields[name] = value === '' ? undefined : value;
    });
    bb.on('file', (_name, stream) => {
      if (work) {
        stream.resume();
        return;
      }
      work = (async () => {
        let id: number | undefined;
        try {
          id = (await datasets.create(fields)).id;
          await content.upload(id, stream);
          return id;
        } catch (err) {
          stream.resume();
          // One step: if the content did not make it, neither does the dataset.
          if (id !== undefined) await datasets.delete(id).catch(() => undefined);
          throw err;
        }
      })();
      work.catch(fail);
    });
    bb.on('error', (err) => fail(AppError.badRequest(`body: ${(err as Error).message}`, { field: 'body' })));
    bb.on('close', () => {
      if (failed) return;
      if (!work) {
        fail(
          AppError.badRequest(
            'file: a multipart create needs a file part (or send JSON to create a catalog-only dataset)',
            { field: 'file' },
          ),
        );
        return;
      }
      work.then(resolve, fail);
    });
    req.pipe(bb);
  });
}
