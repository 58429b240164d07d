import net from 'node:net';

/**
 * A TCP proxy in front of one Kafka broker that can be cut (every connection destroyed, the port
 * closed) and restored on the same port. A plain proxy would only carry the bootstrap
 * connection: the broker advertises its own address in Metadata and FindCoordinator answers, and
 * clients then connect there directly. So in each answer from the broker, the advertised
 * `host` + port (the same bytes in every protocol version: the host string, then an int32 port)
 * gets the proxy's port instead. Same length, so the frame is otherwise untouched.
 */
export interface KafkaProxy {
  /** `127.0.0.1:PORT` of the proxy: the bootstrap address to give the app. */
  readonly bootstrap: string;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  /** Destroys every connection and stops listening: clients get "connection refused". */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /**
   * Keeps every connection open and carries requests to the broker, but drops its answers: the
   * broker stores what it is sent and no acknowledgement arrives. `restore()` ends this (and
   * drops the connections, whose answers are lost for good).
   */
  silence(): void;
  close(): Promise<void>;
}

export async function startKafkaProxy(upstream: string): Promise<KafkaProxy> {
  const [host, portText] = upstream.split(':') as [string, string];
  const upstreamPort = Number(portText);
  const sockets = new Set<net.Socket>();
  let port = 0;
  let replacement: Buffer = Buffer.alloc(0); // our own port, once listening
  let silent = false;

  const server = net.createServer((client) => {
    const broker = net.connect(upstreamPort, host);
    sockets.add(client);
    sockets.add(broker);
    let pending: Buffer = Buffer.alloc(0);
    broker.on('data', (chunk: Buffer) => {
      if (silent) return;
      // Kafka frames: int32 size, then the response. Rewrite whole frames only, so a pattern
      // split across TCP segments is still found.
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let out: Buffer[] = [];
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (pending.length < 4 + size) break;
        const frame = Buffer.from(pending.subarray(0, 4 + size));
        pending = pending.subarray(4 + size);
        for (let at = frame.indexOf(advertised); at !== -1; at = frame.indexOf(advertised, at + advertised.length)) {
          replacement.copy(frame, at + advertised.length - 4);
        }
        out.push(frame);
      }
      if (out.length) client.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      out = [];
    });
    client.pipe(broker);
    const drop = (): void => {
      client.destroy();
      broker.destroy();
      sockets.delete(client);
      sockets.delete(broker);
    };
    client.on('error', drop).on('close', drop);
    broker.on('error', drop).on('close', drop);
  });

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await listen();
  const portBytes = (p: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(p);
    return b;
  };
  const advertised = Buffer.concat([Buffer.from(host), portBytes(upstreamPort)]);
  replacement = portBytes(port);

  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      sockets.clear();
    });

  return {
    bootstrap: `127.0.0.1:${port}`,
    get connections() {
      return sockets.size / 2;
    },
    cut: stopListening,
    async restore() {
      if (silent) {
        silent = false;
        for (const s of sockets) s.destroy();
        sockets.clear();
      }
      if (!server.listening) await listen();
    },
    silence() {
      silent = true;
    },
    close: stopListening,
  };
}
