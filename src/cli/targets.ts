/**
 * Where the CLI's ordinary commands go: straight to the coordination store (`--redis`), or to an
 * instance's admin API (`--url`). Both answer with the same JSON shapes (src/admin/reports.ts).
 */
import { applyCommand, type CommandResult } from '../admin/commands.js';
import {
  type InstancesReport,
  instancesReport,
  type ListenerReport,
  type ListenersReport,
  listenerReport,
  listenersReport,
  type OwnersReport,
  ownersReport,
} from '../admin/reports.js';
import type { AdminCommand } from '../admin/validate.js';
import {
  createRedisClient,
  type RedisSettings,
  RedisSettingsError,
  redisSettingsFromEnv,
} from '../store/redis-connection.js';
import { coordinatorRedisOptions, RedisStore } from '../store/redis-store.js';
import type { CoordinationStore } from '../store/types.js';

/** A failure the CLI reports on stderr with exit code `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** What the CLI can ask of a deployment. */
export interface Target {
  instances(): Promise<InstancesReport>;
  owners(): Promise<OwnersReport>;
  listeners(): Promise<ListenersReport>;
  /** One listener, or null when nothing is known about it. */
  listener(id: string): Promise<ListenerReport | null>;
  command(cmd: AdminCommand): Promise<CommandResult>;
  close(): Promise<void>;
}

/** Talks to the store directly; commands go through the same code path as the API's. */
export function storeTarget(store: CoordinationStore): Target {
  return {
    instances: () => instancesReport(store),
    owners: () => ownersReport(store),
    listeners: () => listenersReport(store),
    listener: (id) => listenerReport(store, id),
    command: (cmd) => applyCommand(store, cmd),
    close: () => store.close(),
  };
}

/** A deployment's Redis, as the CLI reaches it directly. */
export interface RedisTarget {
  settings: RedisSettings;
  prefix: string;
}

/**
 * The CLI's Redis: `--redis URL`, else the service's own settings (`REDIS_URL`, `REDIS_SENTINELS`
 * or `REDIS_CLUSTER_NODES`, with the same credentials and TLS files); null when none is given.
 * Conflicting settings are a usage error with the service's one-line message.
 */
export function redisTarget(
  flags: { redis?: string | undefined; prefix?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
  usageExit: number,
): RedisTarget | null {
  // --redis stands in for whatever mode the environment names: the operator chose this server.
  const chosen = flags.redis
    ? { ...env, REDIS_URL: flags.redis, REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: '' }
    : env;
  try {
    const settings = redisSettingsFromEnv(chosen);
    return settings ? { settings, prefix: flags.prefix ?? env.KEY_PREFIX ?? 'sxt' } : null;
  } catch (error) {
    if (error instanceof RedisSettingsError) throw new CliError(error.message, usageExit);
    throw error;
  }
}

/** A command client for the CLI (its own connection name, so `CLIENT LIST` tells it apart). */
export function cliRedisClient(settings: RedisSettings) {
  return createRedisClient(settings, {
    ...coordinatorRedisOptions,
    lazyConnect: true,
    connectionName: 'baton-cli',
  });
}

/** The store behind `--redis` and the service's Redis settings. */
export function openRedisTarget(target: RedisTarget): CoordinationStore {
  const client = createRedisClient(target.settings, {
    ...coordinatorRedisOptions,
    connectionName: 'baton-cli',
  });
  return new RedisStore(client, { prefix: target.prefix });
}

/** The fetch function the HTTP target uses (injectable: tests pass `app.request`). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Talks to an instance's admin API at `baseUrl`, with a bearer token when given. */
export function httpTarget(
  baseUrl: string,
  adminToken: string | undefined,
  fetchImpl: FetchLike,
): Target {
  const base = baseUrl.replace(/\/+$/, '');
  const call = async <T>(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: T }> => {
    const headers = new Headers(init.headers);
    if (adminToken) headers.set('authorization', `Bearer ${adminToken}`);
    let res: Response;
    try {
      res = await fetchImpl(`${base}${path}`, { ...init, headers });
    } catch (err) {
      throw new CliError(`cannot reach ${base}: ${(err as Error).message}`, 1);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(`${base}${path} answered ${res.status} with a non-JSON body`, 1);
    }
    return { status: res.status, body: body as T };
  };
  const get = async <T>(path: string): Promise<T> => {
    const { status, body } = await call<T>(path);
    if (status !== 200) throw apiFailure(status, body);
    return body;
  };
  return {
    instances: () => get('/admin/instances'),
    owners: () => get('/admin/owners'),
    listeners: () => get('/admin/listeners'),
    listener: async (id) => {
      const { status, body } = await call<ListenerReport>(
        `/admin/listeners/${encodeURIComponent(id)}`,
      );
      if (status === 404 && errorCode(body) === 'LISTENER_NOT_FOUND') return null;
      if (status !== 200) throw apiFailure(status, body);
      return body;
    },
    command: async (cmd) => {
      const payload: Record<string, string> = { command: cmd.command, listener_id: cmd.listenerId };
      if (cmd.token !== undefined) payload.sxtToken = cmd.token;
      const { status, body } = await call<CommandResult>('/admin/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      if (status !== 202) throw apiFailure(status, body);
      return body;
    },
    close: async () => {},
  };
}

function errorCode(body: unknown): string | undefined {
  const err = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof err?.code === 'string' ? err.code : undefined;
}

function apiFailure(status: number, body: unknown): CliError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const detail = err ? `${String(err.code)}: ${String(err.message)}` : 'unexpected answer';
  return new CliError(`API answered ${status}: ${detail}`, 1);
}
