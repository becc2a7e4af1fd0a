/**
 * The Baton process: configuration from the environment, one service, graceful shutdown on
 * SIGTERM/SIGINT within DRAIN_TIMEOUT_MS (a second signal, or the deadline, exits at once).
 */
import { setFlagsFromString } from 'node:v8';
import pino from 'pino';
import { systemClock } from './clock.js';
import { heapFlags } from './config/consumers.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger, LOG_EVENTS } from './log.js';
import { systemRng } from './rng.js';
import { startService } from './service.js';

/** Extra time past DRAIN_TIMEOUT_MS for closing the server and the store before a forced exit. */
const EXIT_GRACE_MS = 2_000;

async function main(): Promise<void> {
  const clock = systemClock();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, { pid: process.pid, now: clock.now() });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`baton: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  for (const flag of heapFlags(config.process.heapGrowingPercent)) setFlagsFromString(flag);
  // Asynchronous stdout: lines written together go out in one write (a takeover logs thousands);
  // pino flushes what is left when the process exits.
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = createLogger({
    ...config.log,
    instanceId: config.instance.instanceId,
    clock,
    destination,
    format: config.log.format ?? (process.stdout.isTTY ? 'pretty' : 'json'),
  });
  const service = await startService(config, {
    clock,
    rng: systemRng(),
    logger,
    meta: { pid: process.pid, port: config.http.port, started_at: clock.now() },
  });
  if (service.demo) {
    // Demo mode: one listener, so a fresh `npm start` shows a listener going live end to end.
    await service.store.setDesired('demo-1', 'demo-token');
    await service.store.publish({ type: 'desired', listenerId: 'demo-1' });
    const host = ['0.0.0.0', '::'].includes(config.http.host) ? 'localhost' : config.http.host;
    const api = `http://${host.includes(':') ? `[${host}]` : host}:${service.server.port}`;
    logger.info(
      { event: LOG_EVENTS.demoReady, api, tail: `npx baton tail --url ${api} --follow` },
      `demo listener demo-1 started: watch its messages with \`npx baton tail --url ${api} --follow\`, or the API at ${api} (GET /admin/events)`,
    );
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(1);
    logger.info({ event: 'process.signal', signal }, 'shutting down');
    clock.schedule(() => {
      logger.error({ event: 'process.forced_exit' }, 'shutdown took too long, exiting');
      process.exit(1);
    }, config.handoff.drainTimeoutMs + EXIT_GRACE_MS);
    service.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err) => {
  process.stderr.write(
    `baton: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
