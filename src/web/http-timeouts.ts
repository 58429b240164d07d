import http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../platform';

export interface HttpTimeouts {
  /** The whole request head must arrive within this (Node answers 408 and closes). */
  headersTimeoutMs: number;
  /** No byte in or out for this long while the client owes us something ends the request. */
  idleTimeoutMs: number;
}

const HEAD_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/**
 * An HTTP server that does not wait forever on slow or stalled clients, and never cuts off a
 * slow but steady one:
 * - the request head (slowloris) is bounded by `headersTimeoutMs` from its first byte;
 * - there is no cap on a whole request (Node's default is 5 minutes): a 1 GiB upload at a few
 *   MB/s must finish;
 * - instead, when a body stops arriving for `idleTimeoutMs`, the client gets 408 and the
 *   connection closes, so the handler sees an aborted body and keeps nothing of it; when a
 *   client stops reading a response for as long, the connection is closed (a slow reader that
 *   keeps reading is never idle: every write that completes counts as activity);
 * - while the server itself is working on a complete request (waiting for Kafka, a move), the
 *   client owes nothing, and the idle timer leaves it alone.
 */
export function createHttpServer(handler: http.RequestListener, t: HttpTimeouts, logger: Logger): http.Server {
  const server = http.createServer(
    {
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: 0,
      // Node checks head timeouts on this interval (30 s by default): a slow head is cut within
      // headersTimeout + this, so at most a second late (a quarter of it let 60 s become 75 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(t.headersTimeoutMs / 20))),
    },
    handler,
  );
  server.setTimeout(t.idleTimeoutMs);
  const current = new WeakMap<Socket, { req: http.IncomingMessage; res: http.ServerResponse }>();
  /** Bytes read off each socket when its last answer finished: more since then is a new request head. */
  const readAtLastAnswer = new WeakMap<Socket, number>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    current.set(socket, { req, res });
    res.once('close', () => {
      if (current.get(socket)?.res === res) current.delete(socket);
      readAtLastAnswer.set(socket, socket.bytesRead);
    });
  });
  // With a listener here, Node no longer destroys a timed-out socket itself: every path below ends it.
  server.on('timeout', (socket: Socket) => {
    const open = current.get(socket);
    if (!open) {
      // Between requests (keep-alive) nothing is owed; part of a new head is, and gets 408.
      if (socket.bytesRead > (readAtLastAnswer.get(socket) ?? 0) && socket.writable) socket.end(HEAD_TIMEOUT_RESPONSE);
      socket.destroySoon();
      return;
    }
    const { req, res } = open;
    if (req.complete && !res.headersSent) return; // the server is working on it (a write re-arms the timer)
    if (!req.complete && !res.headersSent && req.readableFlowing === false) {
      // The server paused the body (its disk or a worker is behind): not the client's idleness.
      // Nothing re-arms the timer if no byte comes once it resumes, so look again later.
      socket.setTimeout(t.idleTimeoutMs);
      return;
    }
    // Once its answer has gone out, Node forgets a request: closing the socket would then never
    // tell a handler still reading the body. Destroying the request does (an 'aborted' body), so
    // the handler drops what it had (a half batch, a temporary file) and returns.
    const close = (): void => {
      socket.destroy();
      if (!req.complete)
        req.destroy(Object.assign(new Error('the request body stopped arriving'), { code: 'ECONNRESET' }));
    };
    if (!req.complete && !res.headersSent) {
      logger.info('http.request_idle_timeout', {
        method: req.method,
        path: req.url?.split('?')[0],
        received: socket.bytesRead,
        idle_ms: t.idleTimeoutMs,
      });
      res.once('finish', close);
      res.writeHead(408, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
      res.end(
        JSON.stringify({
          detail: `request: no data received for ${t.idleTimeoutMs} ms before the body was complete; nothing of it was accepted`,
        }),
      );
      return;
    }
    // Answered (or answering) and the client stopped reading, or stopped sending a body nobody waits for.
    close();
  });
  return server;
}
