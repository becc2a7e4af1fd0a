/**
 * The parent's handle on `bench/feed-proc.ts`: forks the upstream generator as a child process
 * (tsx loader), waits for its port, and asks it over IPC how many messages it has generated.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A running feed process. */
export interface Feed {
  /** UPSTREAM_URL template for Baton and the seed baseline. */
  readonly url: string;
  readonly pid: number;
  /** Messages generated so far (sent to at least one open connection), over every token. */
  generated(): Promise<number>;
  /** Changes the per-token rate (msg/s) from now on. */
  setRate(rate: number): void;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./feed-proc.ts', import.meta.url));

/** Forks a feed offering `rate` msg/s per token, with `payloadBytes` of filler per message. */
export async function startFeed(rate: number, payloadBytes: number): Promise<Feed> {
  const child: ChildProcess = fork(SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, FEED_RATE: String(rate), FEED_PAYLOAD_BYTES: String(payloadBytes) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`feed exited (${code}) before it listened`)));
    child.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready' && typeof m.port === 'number') resolve(m.port);
    });
  });
  let waiting: ((n: number) => void)[] = [];
  child.on('message', (m: { type: string; generated?: number }) => {
    if (m.type !== 'count') return;
    const [next, ...rest] = waiting;
    waiting = rest;
    next?.(m.generated ?? Number.NaN);
  });
  return {
    url: `ws://127.0.0.1:${port}/feed?token={token}&listener={listener_id}`,
    pid: child.pid ?? -1,
    generated: () =>
      new Promise<number>((resolve) => {
        waiting.push(resolve);
        child.send({ type: 'count' });
      }),
    setRate: (r) => child.send({ type: 'rate', rate: r }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
