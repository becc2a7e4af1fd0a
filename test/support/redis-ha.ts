/**
 * Redis the way production runs it, for tests: a primary with a replica (optionally replicating
 * through a pausable TCP relay) and three sentinels; a three-primary Cluster made with
 * `redis-cli --cluster create` plus a one-slot migration; test certificates from `openssl`. All
 * real `redis-server` processes on free loopback ports, stopped by the caller (afterAll) and, like
 * every server of `redis-server.ts`, killed with the worker.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { until } from './e2e.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const run = promisify(execFile);

/** A scratch directory removed by `cleanup`. */
export function scratch(name: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `baton-${name}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs one command on a server and disconnects (admin calls of the tests). */
export async function admin<T = unknown>(port: number, ...args: (string | number)[]): Promise<T> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null, // a dead node fails the call at once
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [command, ...rest] = args;
    return (await client.call(String(command), ...rest)) as T;
  } finally {
    client.disconnect();
  }
}

/** The server's process id (`INFO server`), for `kill -9` and SIGSTOP. */
export async function pidOf(port: number): Promise<number> {
  const info = await admin<string>(port, 'INFO', 'server');
  return Number(/process_id:(\d+)/.exec(info)?.[1]);
}

/** A TCP relay to `targetPort` that can stop forwarding (both ways) while connections stay open. */
export interface Relay {
  port: number;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Starts a relay: with it between a replica and its primary, `pause` freezes replication. */
export function startRelay(targetPort: number): Promise<Relay> {
  let paused = false;
  const flushes = new Set<() => void>();
  const sockets = new Set<Socket>();
  const forward = (from: Socket, to: Socket) => {
    const queued: Buffer[] = [];
    const flush = () => {
      while (!paused && queued.length > 0) to.write(queued.shift()!);
    };
    flushes.add(flush);
    from.on('data', (chunk: Buffer) => {
      queued.push(chunk);
      flush();
    });
    from.on('close', () => {
      flushes.delete(flush);
      to.destroy();
    });
    from.on('error', () => to.destroy());
  };
  const server = createServer((inbound) => {
    const outbound = tcpConnect(targetPort, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    forward(inbound, outbound);
    forward(outbound, inbound);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        pause: () => {
          paused = true;
        },
        resume: () => {
          paused = false;
          for (const flush of flushes) flush();
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A primary, its replica and three sentinels watching it as `mymaster`. */
export interface SentinelSet {
  primary: RedisServer;
  replica: RedisServer;
  sentinels: RedisServer[];
  /** Set when the replica replicates through a relay (`viaRelay`). */
  relay: Relay | undefined;
  /** `REDIS_SENTINELS` for Baton. */
  env: Record<string, string>;
  /** The primary's port as the sentinels report it now. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the set and waits until every sentinel knows the replica and the other sentinels. */
export async function startSentinelSet(
  options: { viaRelay?: boolean; sentinels?: number } = {},
): Promise<SentinelSet> {
  const { dir, cleanup } = scratch('sentinel');
  // No 5 s wait for more replicas before the first (diskless) sync.
  const primary = await startRedisServer({
    local: true,
    args: ['--dir', dir, '--repl-diskless-sync-delay', '0'],
  });
  const relay = options.viaRelay ? await startRelay(primary.port) : undefined;
  const upstreamPort = relay?.port ?? primary.port;
  const replica = await startRedisServer({
    local: true,
    args: ['--dir', dir, '--replicaof', '127.0.0.1', String(upstreamPort)],
  });
  await until(
    'replica in sync',
    async () => /master_link_status:up/.test(await admin(replica.port, 'INFO', 'replication')),
    15_000,
  );
  const sentinels: RedisServer[] = [];
  for (let i = 0; i < (options.sentinels ?? 3); i += 1) {
    const file = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      file,
      [
        `sentinel monitor mymaster 127.0.0.1 ${primary.port} 2`,
        'sentinel down-after-milliseconds mymaster 1000',
        'sentinel failover-timeout mymaster 4000',
        'sentinel parallel-syncs mymaster 1',
        '',
      ].join('\n'),
    );
    sentinels.push(
      await startRedisServer({ local: true, configFile: file, args: ['--sentinel', '--dir', dir] }),
    );
  }
  await until(
    'sentinels see the replica and each other',
    // (a set without sentinels passes at once: the test fails over by hand)
    async () => {
      for (const s of sentinels) {
        const master = await admin<string[]>(s.port, 'SENTINEL', 'MASTER', 'mymaster');
        const field = (name: string) => Number(master[master.indexOf(name) + 1]);
        if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return false;
      }
      return true;
    },
    20_000,
    100,
  );
  return {
    primary,
    replica,
    sentinels,
    relay,
    env: { REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(',') },
    primaryPort: async () => {
      const addr = await admin<string[]>(
        sentinels[0]!.port,
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        'mymaster',
      );
      return Number(addr[1]);
    },
    stop: async () => {
      await Promise.all(sentinels.map((s) => s.stop()));
      await Promise.all([primary.stop(), replica.stop()]);
      await relay?.close();
      cleanup();
    },
  };
}

/** A three-primary cluster on loopback ports. */
export interface RedisClusterSet {
  nodes: RedisServer[];
  /** `REDIS_CLUSTER_NODES` for Baton. */
  env: Record<string, string>;
  /** Moves `slot` to another primary with its keys (CLUSTER SETSLOT + MIGRATE); returns its port. */
  migrateSlot(slot: number): Promise<number>;
  /** The port of the primary serving `slot`. */
  ownerOf(slot: number): Promise<number>;
  stop(): Promise<void>;
}

/** Starts three primaries (and `replicas` replicas each), joined by `redis-cli --cluster create`. */
export async function startRedisCluster(replicas = 0): Promise<RedisClusterSet> {
  const { dir, cleanup } = scratch('cluster');
  const nodes: RedisServer[] = [];
  for (let i = 0; i < 3 * (1 + replicas); i += 1) {
    const args = [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${i}.conf`),
      '--cluster-node-timeout',
      '2000',
      '--cluster-announce-ip',
      '127.0.0.1',
      '--dir',
      dir,
    ];
    nodes.push(await startRedisServer({ local: true, args }));
  }
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  const create = ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas)];
  await run('redis-cli', [...create, '--cluster-yes']);
  await until(
    'cluster state ok on every node, replicas in sync',
    async () => {
      for (const n of nodes) {
        if (!/cluster_state:ok/.test(await admin(n.port, 'CLUSTER', 'INFO'))) return false;
        const replication = await admin<string>(n.port, 'INFO', 'replication');
        if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) {
          return false;
        }
      }
      return true;
    },
    30_000,
    100,
  );
  const idOf = (port: number) => admin<string>(port, 'CLUSTER', 'MYID');
  const ownerOf = async (slot: number) => {
    let lastError: unknown;
    for (const node of nodes) {
      try {
        const slots = await admin<[number, number, [string, number]][]>(
          node.port,
          'CLUSTER',
          'SLOTS',
        );
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        return Number(range?.[2][1]);
      } catch (error) {
        lastError = error; // that node is down: ask the next one
      }
    }
    throw lastError;
  };
  return {
    nodes,
    env: { REDIS_CLUSTER_NODES: addresses.join(',') },
    ownerOf,
    migrateSlot: async (slot) => {
      const from = await ownerOf(slot);
      let to = 0;
      for (const n of nodes) {
        const [role] = await admin<string[]>(n.port, 'ROLE');
        if (n.port !== from && role === 'master') to = n.port;
      }
      const [fromId, toId] = await Promise.all([idOf(from), idOf(to)]);
      await admin(to, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
      await admin(from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
      for (;;) {
        const keys = await admin<string[]>(from, 'CLUSTER', 'GETKEYSINSLOT', slot, 100);
        if (keys.length === 0) break;
        await admin(from, 'MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...keys);
      }
      for (const n of nodes) await admin(n.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
      return to;
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      cleanup();
    },
  };
}

/** PEM files of a test CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface TestCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Generates the certificates with `openssl` into `dir` (a second or two). */
export async function makeCerts(dir: string): Promise<TestCerts> {
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=baton-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  );
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    await ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=baton-${who}`,
      '-keyout',
      f(`${who}.key`),
      '-out',
      f(`${who}.csr`),
    );
    await ssl(
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f('san.ext'),
      '-out',
      f(`${who}.crt`),
    );
  }
  return {
    ca: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
  };
}
