/**
 * The `baton` command line, as a testable function: `runCli(argv, io)` returns the exit code.
 * Output is JSON on stdout (one document per run, 2-space indented); diagnostics go to stderr.
 * Exit codes: 0 ok, 1 failure (store/API error or refusal), 2 refused by a safety check (a live
 * leader holds the lock; use --force), 64 usage error.
 */
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { summarize } from '../admin/reports.js';
import { type AdminCommand, checkListenerId, checkToken } from '../admin/validate.js';
import { BatonError } from '../errors.js';
import type { RedisSettings } from '../store/redis-connection.js';
import type { CoordinationStore } from '../store/types.js';
import { type EmergencyAction, executeEmergency, planEmergency } from './emergency.js';
import { runDemoFeed, runTail } from './tail.js';
import {
  CliError,
  cliRedisClient,
  type FetchLike,
  httpTarget,
  openRedisTarget,
  redisTarget,
  storeTarget,
  type Target,
} from './targets.js';

/** Where the CLI writes, what environment it reads, and (for tests) how it connects. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** Opens the store for `--redis` (default: `openRedisTarget`, all three Redis modes). */
  openStore?: (settings: RedisSettings, prefix: string) => CoordinationStore;
  /** fetch for `--url` (default: global fetch). */
  fetch?: FetchLike;
  /** Ends `tail --follow` and `demo-feed` (the bin aborts it on SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

/** Exit codes of `baton`. */
export const EXIT = Object.freeze({ OK: 0, FAILED: 1, REFUSED: 2, USAGE: 64 });

/** Usage text printed by `baton --help` and on usage errors. */
export const USAGE = `usage: baton <command> [options]

commands:
  status                       lock, instances and listener counts
  instances                    live instances, lock holder, epoch
  owners                       listener -> owner, owner_alive, fence
  listeners [id]               desired + observed state (never tokens)
  start <id> --token T         make a listener desired (token also from $SXT_TOKEN)
  stop <id>                    make a listener not desired (idempotent)
  restart <id> [--token T]     bump the generation (keeps the stored token without --token)
  release-lock                 delete the leader lock (refused while its holder is live)
  reset                        delete lock, listener_owners and instances:* (refused while a
                               live leader holds the lock); keeps tokens, fences and the epoch
  tail [--listener ID]         the events stream, one JSON line per entry: the latest --count
       [--after ID] [--count N] (10), or a page after --after (0 = the start, $ = now);
       [--follow]               --follow keeps printing new entries
  demo-feed [--port 4000]      run the demo upstream (UPSTREAM_URL=ws://HOST:PORT/feed?token=
       [--host 0.0.0.0]        {token}&listener={listener_id}) until interrupted
       [--interval 1000]

target (one of):
  --redis URL | $REDIS_URL     talk to Redis directly; --prefix P | $KEY_PREFIX (default sxt);
                               or the service's $REDIS_SENTINELS / $REDIS_CLUSTER_NODES settings
  --url URL                    talk to an instance's admin API; --admin-token T | $ADMIN_TOKEN

options:
  --dry-run                    release-lock/reset: only print the plan
  --force                      release-lock/reset: proceed even while the leader is live
  -h, --help                   this text

exit codes: 0 ok, 1 failed, 2 refused (live leader; see --force), 64 usage error`;

const OPTIONS = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  url: { type: 'string' },
  'admin-token': { type: 'string' },
  token: { type: 'string' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  listener: { type: 'string' },
  after: { type: 'string' },
  count: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  host: { type: 'string' },
  port: { type: 'string' },
  interval: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** Runs one CLI invocation and returns its exit code; never throws, never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  const [name, ...rest] = positionals;
  if (!name) return usage(io, 'missing command');
  try {
    return await dispatch(name, rest, values, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`baton: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof BatonError) {
      io.stderr.write(`baton: ${err.code}: ${err.message}\n`);
      return isInputError(err.code) ? EXIT.USAGE : EXIT.FAILED;
    }
    io.stderr.write(`baton: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.FAILED;
  }
}

function isInputError(code: string): boolean {
  return ['INVALID_LISTENER_ID', 'INVALID_TOKEN', 'TOKEN_REQUIRED', 'INVALID_PARAMETER'].includes(
    code,
  );
}

function usage(io: CliIo, message: string): number {
  io.stderr.write(`baton: ${message}\n${USAGE}\n`);
  return EXIT.USAGE;
}

const print = (io: CliIo, value: unknown) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

async function dispatch(name: string, args: string[], values: Values, io: CliIo): Promise<number> {
  const arity: Record<string, [number, number]> = {
    status: [0, 0],
    instances: [0, 0],
    owners: [0, 0],
    listeners: [0, 1],
    start: [1, 1],
    stop: [1, 1],
    restart: [1, 1],
    'release-lock': [0, 0],
    reset: [0, 0],
    tail: [0, 0],
    'demo-feed': [0, 0],
  };
  const range = arity[name];
  if (!range) return usage(io, `unknown command "${name}"`);
  if (args.length < range[0] || args.length > range[1]) {
    return usage(
      io,
      `${name} takes ${range[0] === range[1] ? range[0] : `${range[0]}-${range[1]}`} argument(s)`,
    );
  }
  if (name === 'release-lock' || name === 'reset') return emergency(name, values, io);
  if (name === 'demo-feed') return runDemoFeed(values, io);
  if (name === 'tail') {
    const redis = values.url === undefined ? redisTarget(values, io.env, EXIT.USAGE) : null;
    return runTail(
      {
        url: values.url,
        adminToken: values['admin-token'] ?? io.env.ADMIN_TOKEN,
        redis: redis ?? undefined,
        listener: values.listener,
        after: values.after,
        count: values.count,
        follow: values.follow === true,
      },
      io,
    );
  }
  const command =
    name === 'start' || name === 'stop' || name === 'restart'
      ? toCommand(name, args[0]!, values, io)
      : null;
  const target = openTarget(values, io);
  try {
    switch (name) {
      case 'status':
        print(io, summarize(await target.instances(), await target.listeners()));
        return EXIT.OK;
      case 'instances':
        print(io, await target.instances());
        return EXIT.OK;
      case 'owners':
        print(io, await target.owners());
        return EXIT.OK;
      case 'listeners': {
        if (args[0] === undefined) {
          print(io, await target.listeners());
          return EXIT.OK;
        }
        const one = await target.listener(checkListenerId(args[0]));
        if (!one)
          throw new CliError(
            `LISTENER_NOT_FOUND: nothing is known about listener ${args[0]}`,
            EXIT.FAILED,
          );
        print(io, one);
        return EXIT.OK;
      }
      default:
        print(io, await target.command(command!));
        return EXIT.OK;
    }
  } finally {
    await target.close().catch(() => {});
  }
}

function toCommand(
  name: 'start' | 'stop' | 'restart',
  id: string,
  values: Values,
  io: CliIo,
): AdminCommand {
  const listenerId = checkListenerId(id);
  if (name === 'stop') return { command: name, listenerId };
  // $SXT_TOKEN only stands in for start: a restart must not silently replace the stored token.
  const token = name === 'start' ? (values.token ?? io.env.SXT_TOKEN) : values.token;
  if (name === 'start' && !token) {
    throw new BatonError('TOKEN_REQUIRED', 'start needs --token T (or $SXT_TOKEN)');
  }
  return token
    ? { command: name, listenerId, token: checkToken(token) }
    : { command: name, listenerId };
}

function openTarget(values: Values, io: CliIo): Target {
  if (values.url !== undefined && values.redis !== undefined) {
    throw new CliError('give either --url or --redis, not both', EXIT.USAGE);
  }
  if (values.url !== undefined) {
    const token = values['admin-token'] ?? io.env.ADMIN_TOKEN;
    return httpTarget(
      values.url,
      token || undefined,
      io.fetch ?? ((url, init) => fetch(url, init)),
    );
  }
  const redis = redisTarget(values, io.env, EXIT.USAGE);
  if (!redis)
    throw new CliError('no target: give --redis URL (or $REDIS_URL) or --url URL', EXIT.USAGE);
  return storeTarget(
    io.openStore ? io.openStore(redis.settings, redis.prefix) : openRedisTarget(redis),
  );
}

async function emergency(action: EmergencyAction, values: Values, io: CliIo): Promise<number> {
  if (values.url !== undefined) {
    throw new CliError(
      `${action} talks to Redis directly: give --redis URL (or $REDIS_URL), not --url`,
      EXIT.USAGE,
    );
  }
  const target = redisTarget(values, io.env, EXIT.USAGE);
  if (!target) throw new CliError(`${action} needs --redis URL (or $REDIS_URL)`, EXIT.USAGE);
  if (target.settings.mode === 'cluster') {
    // Its key scan runs on one connection: give the primary that serves the prefix's slot.
    throw new CliError(
      `${action} on Cluster: give --redis redis://<primary of the slot>`,
      EXIT.USAGE,
    );
  }
  const redis = cliRedisClient(target.settings) as Redis;
  try {
    await redis.connect();
    const plan = await planEmergency(redis, target.prefix, action);
    const lock =
      plan.lock.holder === null
        ? 'nobody holds the lock'
        : `lock held by ${plan.lock.holder} (${plan.lock.holder_alive ? 'LIVE' : 'not alive'}) at epoch ${plan.lock.epoch}`;
    io.stderr.write(
      `${action}: ${lock}\n${action}: would delete ${plan.delete.length} key(s)${plan.delete.length ? `: ${plan.delete.join(', ')}` : ''}\n`,
    );
    const dryRun = values['dry-run'] === true;
    if (dryRun) {
      print(io, { ...plan, dry_run: true, executed: false });
      return EXIT.OK;
    }
    const force = values.force === true;
    if (plan.lock.holder_alive && !force) return refuse(io, plan, 'LIVE_LEADER');
    const outcome = await executeEmergency(redis, plan, force);
    if (!outcome.ok) return refuse(io, plan, outcome.code);
    io.stderr.write(`${action}: deleted ${outcome.deleted} key(s)\n`);
    print(io, { ...plan, dry_run: false, executed: true, deleted: outcome.deleted });
    return EXIT.OK;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

function refuse(
  io: CliIo,
  plan: Awaited<ReturnType<typeof planEmergency>>,
  code: 'LIVE_LEADER' | 'LOCK_CHANGED',
): number {
  const why =
    code === 'LIVE_LEADER'
      ? `refusing: ${plan.lock.holder} holds the lock and is live; stop it first, or re-run with --force`
      : 'refusing: the lock changed hands since the plan was made; re-run to re-plan';
  io.stderr.write(`${plan.action}: ${why}\n`);
  print(io, { ...plan, dry_run: false, executed: false, refused: code });
  return EXIT.REFUSED;
}
