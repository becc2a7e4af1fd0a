/**
 * A real `redis-server` for tests: a child process on a free loopback port, persistence off unless
 * asked, killed when the test file ends (afterAll), when the worker exits, and by a watchdog shell
 * if the worker is killed outright. With REDIS_URL set, that server is used instead.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** A running Redis for one test file. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (a no-op for an external REDIS_URL). */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port with the same arguments. */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--appendonly', 'yes', '--dir', tmp]`. */
  args?: string[];
  /** Start a local server even when REDIS_URL is set (restart and cluster tests need one). */
  local?: boolean;
  /** A config file to load first (sentinels need one they can rewrite). */
  configFile?: string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A key prefix no other test file uses, so files can share one server. */
export function randomPrefix(name = 't'): string {
  return `${name}-${randomUUID()}`;
}

/** Deletes every key under `prefix` (for a shared REDIS_URL server; a local one just stops). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Starts `redis-server` (or returns REDIS_URL's server), answering PING before it resolves. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (external && !options.local) {
    return {
      url: external,
      port: Number(new URL(external).port || 6379),
      stop: async () => {},
      restart: async () => {
        throw new Error('restart needs a local redis-server; this one comes from REDIS_URL');
      },
    };
  }
  const args = [...(options.configFile ? [options.configFile] : []), ...(options.args ?? [])];
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    try {
      let child = await launch(port, args);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => kill(child),
        restart: async () => {
          await kill(child);
          child = await launch(port, args);
        },
      };
    } catch (error) {
      lastError = error; // most likely another process took the port between probe and bind
    }
  }
  throw lastError;
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function launch(port: number, extra: string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  // A config file has to come first on redis-server's command line.
  const [config, rest] =
    extra[0]?.startsWith('--') === false ? [[extra[0]], extra.slice(1)] : [[], extra];
  const child = spawn('redis-server', [...config, ...args, ...rest], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.once('exit', () => running.delete(child));
  watchdog(child);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await pings(port)) return child;
    await delay(20);
  }
  await kill(child);
  throw new Error(`redis-server on port ${port} did not answer PING:\n${output}`);
}

/** Kills redis-server if this worker dies without running its exit handlers (SIGKILL, crash). */
function watchdog(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 0.5; done; kill -0 ${process.pid} 2>/dev/null || kill -9 ${child.pid} 2>/dev/null`;
  spawn('sh', ['-c', script], { stdio: 'ignore', detached: true }).unref();
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.setTimeout(1_000, () => done(false));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const patience = new AbortController();
  const timeout = delay(5_000, 'timeout' as const, { signal: patience.signal }).catch(
    () => 'exited',
  );
  if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
  patience.abort();
  await exited;
}
