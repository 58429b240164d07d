import { killMidStreamAndRestart } from './support/crash-scenario';

describe('crash safety on the embedded bus', () => {
  test('when the server is killed with SIGKILL mid-stream and restarted, then no acknowledged event is lost and retried events count once', async () => {
    await killMidStreamAndRestart({});
  }, 120_000);

  test('when the server gets SIGTERM mid-stream, then it exits 0 having applied exactly what it acknowledged', async () => {
    await killMidStreamAndRestart({}, 'SIGTERM');
  }, 120_000);
});
