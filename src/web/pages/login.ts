import express, { Router } from 'express';
import { sessionOf, type SessionAuth, type UsersService } from '../../auth';
import { AppError, type Logger, requestLogger, parseId } from '../../platform';
import type { Views } from '../views';
import { formBody, str } from './forms';

/** Only same-site paths are followed after a login (no open redirect). */
export function safeNext(v: unknown): string {
  return typeof v === 'string' && /^\/(?![/\\])[^\s]*$/.test(v) && !v.startsWith('/login') ? v : '/';
}

export interface LoginPageDeps {
  views: Views;
  sessions: SessionAuth;
  users: UsersService;
  logger: Logger;
}

/** Sign in and out. Mounted before the pages' session gate. */
export function loginPages(d: LoginPageDeps): Router {
  const r = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  r.get('/login', (req, res) => {
    if (sessionOf(res)) return void res.redirect(303, safeNext(req.query.next));
    d.views.render(res, 'login', {
      next: safeNext(req.query.next),
      error: null,
      username: '',
      title: 'Sign in · Data in Motion',
    });
  });

  r.post('/login', form, async (req, res) => {
    const b = formBody(req.body);
    const username = str(b, 'username') ?? '';
    const password = typeof b.password === 'string' ? b.password : '';
    const next = safeNext(b.next);
    const again = (status: number, error: string): void =>
      d.views.render(res, 'login', { next, error, username, title: 'Sign in · Data in Motion' }, status);
    // A login form posted from another site would sign the victim into the attacker's account.
    if (!d.sessions.sameOrigin(req)) return again(403, 'This sign-in did not come from this site.');
    const keys = [`u:${username.toLowerCase()}`, `ip:${req.ip ?? ''}`];
    if (d.sessions.throttled(keys)) return again(429, 'Too many failed attempts: wait five minutes and try again.');
    if (!username || !password) return again(400, 'Enter your username and password.');
    const user = await d.users.authenticate(username, password);
    if (!user) {
      d.sessions.recordFailure(keys);
      requestLogger(res, d.logger).warn('auth.login_failed', { username, ip: req.ip });
      return again(401, 'Wrong username or password.');
    }
    d.sessions.clearFailures(keys);
    await d.sessions.issue(req, res, user);
    requestLogger(res, d.logger).info('auth.login', { user_id: user.id, username: user.username, role: user.role });
    res.redirect(303, next);
  });

  r.post('/logout', form, async (req, res) => {
    const s = sessionOf(res);
    if (s) d.sessions.checkUnsafe(req, s, req.body);
    await d.sessions.logout(req, res, s);
    if (req.get('hx-request')) {
      res.setHeader('HX-Redirect', '/login');
      res.status(204).end();
      return;
    }
    res.redirect(303, '/login');
  });

  return r;
}

/** People who may sign in: operators add and remove them. */
export function usersPages(d: {
  views: Views;
  users: UsersService;
  requireOperator: express.RequestHandler;
  logger: Logger;
}): Router {
  const r = Router();
  const list = async () => ({ users: await d.users.list() });

  r.get('/users', d.requireOperator, async (_req, res) => {
    d.views.render(res, 'users', { ...(await list()), title: 'Users · Data in Motion' });
  });

  r.post('/users', d.requireOperator, async (req, res) => {
    const b = formBody(req.body);
    const u = await d.users.create(
      {
        username: str(b, 'username'),
        role: str(b, 'role'),
        password: typeof b.password === 'string' && b.password !== '' ? b.password : undefined,
      },
      requestLogger(res, d.logger),
    );
    res.setHeader('HX-Trigger', 'users-changed');
    d.views.render(res, 'parts/notice', { message: `Added ${u.username} (${u.role}).` });
  });

  r.post('/users/:id/delete', d.requireOperator, async (req, res) => {
    const s = sessionOf(res);
    if (!s) throw new AppError(401, 'sign in first');
    await d.users.delete(parseId(req.params.id), s.user, requestLogger(res, d.logger));
    res.setHeader('HX-Trigger', 'users-changed');
    d.views.render(res, 'parts/notice', { message: 'User removed.' });
  });

  r.get('/users/parts/list', d.requireOperator, async (_req, res) => {
    d.views.render(res, 'parts/users-list', await list());
  });

  return r;
}
