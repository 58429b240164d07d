import { Router, type RequestHandler } from 'express';
import { SCOPES, parseNewKey, type ApiKeys, sessionOf } from '../../auth';
import { ValidationError, type Logger, requestLogger, parseId } from '../../platform';
import type { Views } from '../views';
import { formBody, type FormBody } from './forms';

/** What each scope lets a key do, for the form. */
const SCOPE_HELP: Record<(typeof SCOPES)[number], string> = {
  read: 'read the JSON API and /metrics when PUBLIC_READ is off',
  'events:write': 'send access events',
  'datasets:write': 'create, change and delete datasets and their content',
  'moves:write': 'start and cancel moves, set policies, run the scheduler',
  admin: 'everything, including API keys, prices and key rotation',
};

export interface KeyPageDeps {
  views: Views;
  keys: Pick<ApiKeys, 'list' | 'create' | 'revoke'>;
  requireOperator: RequestHandler;
  logger: Logger;
}

/** The checked scope boxes of a form: one value is a string, several an array. */
function scopesOf(b: FormBody): unknown[] {
  const v = b.scopes;
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * API keys on the pages (operators only: a key may carry `admin`): the list, a form that creates
 * a key and shows its secret once, and revocation, which takes effect at once.
 */
export function keysPages(d: KeyPageDeps): Router {
  const r = Router();
  const form = (extra: Record<string, unknown> = {}) => ({
    scopeNames: SCOPES,
    scopeHelp: SCOPE_HELP,
    errors: {},
    values: { name: '', scopes: [] },
    created: null,
    ...extra,
  });

  r.get('/keys', d.requireOperator, async (_req, res) => {
    d.views.render(res, 'keys', { keys: await d.keys.list(), ...form(), title: 'API keys · Data in Motion' });
  });

  r.get('/keys/parts/list', d.requireOperator, async (_req, res) => {
    d.views.render(res, 'parts/keys-list', { keys: await d.keys.list() });
  });

  r.post('/keys', d.requireOperator, async (req, res) => {
    const b = formBody(req.body);
    const values = {
      name: typeof b.name === 'string' ? b.name : '',
      scopes: scopesOf(b).filter((s): s is string => typeof s === 'string'),
    };
    let parsed;
    try {
      parsed = parseNewKey({ name: b.name, scopes: scopesOf(b) });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // The message goes next to its field: `scopes[2]` belongs to the scope boxes.
      const field = err.field.startsWith('scopes') ? 'scopes' : 'name';
      d.views.render(res, 'parts/key-form', form({ values, errors: { [field]: err.message } }), 400);
      return;
    }
    const created = await d.keys.create(parsed.name, parsed.scopes);
    requestLogger(res, d.logger).info('auth.api_key_created', {
      key_id: created.id,
      name: created.name,
      scopes: created.scopes,
      by: `user:${sessionOf(res)?.user.username}`,
    });
    res.setHeader('HX-Trigger', 'keys-changed');
    d.views.render(res, 'parts/key-form', form({ created }));
  });

  r.post('/keys/:id/revoke', d.requireOperator, async (req, res) => {
    const id = parseId(req.params.id);
    await d.keys.revoke(id);
    requestLogger(res, d.logger).info('auth.api_key_revoked', {
      key_id: id,
      by: `user:${sessionOf(res)?.user.username}`,
    });
    res.setHeader('HX-Trigger', 'keys-changed');
    d.views.render(res, 'parts/notice', {
      message: `Key ${id} revoked: it no longer works, nor do tokens made from it.`,
    });
  });

  return r;
}
