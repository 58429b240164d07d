import './young-generation';
import { App } from './app';
import { ConfigError, loadConfig } from './config';

/** The only place that exits the process. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app: App = new App(config, {
    onFatal: (err) => {
      app.logger.error('app.refused', { error: err });
      process.stderr.write(`Data in Motion stopped: ${err.message}\n`);
      process.exitCode = 1;
      void app.stop().finally(() => process.exit(1));
    },
  });
  let signals = 0;
  const shutdown = (signal: string): void => {
    signals++;
    if (signals > 1) {
      app.logger.warn('app.forced_exit', { signal });
      process.exit(1);
    }
    app.logger.info('app.stopping', { signal });
    const timer = setTimeout(() => {
      app.logger.error('app.stop_timeout', { timeout_ms: config.shutdownTimeoutMs });
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    timer.unref();
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error('app.stop_failed', { error: err as Error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await app.start();
  } catch (err) {
    app.logger.error('app.start_failed', { error: err as Error });
    process.stderr.write(`Data in Motion did not start: ${(err as Error).message}\n`);
    await app.stop();
    process.exit(1);
  }
  process.stdout.write(`Data in Motion is listening on http://localhost:${app.port}\n`);
}

void main();
