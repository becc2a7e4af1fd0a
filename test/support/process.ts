/**
 * Real Baton processes for end-to-end tests and benchmarks: `node --import tsx src/main.ts` from
 * the repo root, configured only through the environment (the contract), with short timings. Every
 * JSON log line on stdout is parsed and kept with the time it arrived, so tests can wait for
 * `server.listening`, `lock.acquired`, `listener.live`, `drain.done`... and time them. Every
 * process started here is killed when the test file ends (`killAllProcesses` in afterAll), when
 * the worker exits, and by a watchdog shell if the worker is killed outright.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repo root (two levels above test/support). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Short timings for processes under test, keeping the contract's rules (renew < deadline < TTL).
 * A crashed leader is replaced after LOCK_TTL_MS; a failing one stops after RENEW_DEADLINE_MS.
 */
export const E2E_ENV: Readonly<Record<string, string>> = Object.freeze({
  LOCK_TTL_MS: '2000',
  LOCK_RENEW_MS: '400',
  LOCK_RETRY_MS: '300',
  RENEW_DEADLINE_MS: '1400',
  RESYNC_MS: '500',
  DRAIN_TIMEOUT_MS: '5000',
  CONNECT_TIMEOUT_MS: '2000',
  BACKOFF_BASE_MS: '100',
  BACKOFF_MAX_MS: '1000',
  INSTANCE_TTL_MS: '6000',
  LOG_LEVEL: 'info',
  // Standbys still rehearse a takeover (the code path runs), small enough not to load the box.
  WARMUP_LISTENERS: '20',
});

/** One parsed log line, with the test process's clock time (ms) at which it was read. */
export interface LogLine {
  at: number;
  event?: string;
  level?: string;
  msg?: string;
  [field: string]: unknown;
}

export interface BatonProcessOptions {
  /** INSTANCE_ID. */
  id: string;
  redisUrl: string;
  /** KEY_PREFIX (random per test). */
  prefix: string;
  /** UPSTREAM_URL: the test upstream's template. */
  upstreamUrl: string;
  /** Extra or overriding environment (HANDOFF_MODE, timings...). */
  env?: Record<string, string>;
  /** Environment under `env`; default `E2E_ENV` (short timings). `{}` = the contract defaults. */
  baseEnv?: Readonly<Record<string, string>>;
  /** How long to wait for the ready event (process start under load). Default 30 s. */
  startTimeoutMs?: number;
  /** Script to run instead of `src/main.ts` (the benchmark's seed-like baseline). */
  script?: string;
  /** Arguments after the script (e.g. `['demo-feed', '--port', '0']` for `src/cli/main.ts`). */
  args?: string[];
  /** Run the script with plain `node`, without tsx (a compiled build: `dist/src/main.js`). */
  compiled?: boolean;
  /** Log event that says the process is up; default `server.listening` (with its `port`). */
  readyEvent?: string;
  /** Extra `node` flags before the script (e.g. `--cpu-prof` for profiling a run). */
  nodeArgs?: string[];
  /** Directory to run in (default the repo root), e.g. another checkout for an A/B comparison. */
  cwd?: string;
}

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Test clock time of the exit. */
  at: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

/** A Baton process under test. */
export class BatonProcess {
  /** Every JSON log line so far, in order. */
  readonly logs: LogLine[] = [];
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<() => void>();
  private stderrTail = '';
  private exit: Exit | null = null;
  private httpPort = 0;

  private constructor(
    readonly id: string,
    readonly child: ChildProcess,
  ) {
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      const at = Date.now();
      for (const line of lines) this.take(line, at);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': stdout is fully read by then, so no log line arrives after the exit.
      child.once('close', (code, signal) => {
        running.delete(child);
        this.exit = { code, signal, at: Date.now() };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  /** Spawns the process and resolves once its HTTP API listens (it then competes for the lock). */
  static async start(options: BatonProcessOptions): Promise<BatonProcess> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(options.baseEnv ?? E2E_ENV),
      REDIS_URL: options.redisUrl,
      KEY_PREFIX: options.prefix,
      UPSTREAM_URL: options.upstreamUrl,
      INSTANCE_ID: options.id,
      HOST: '127.0.0.1',
      PORT: '0',
      ...options.env,
    };
    const script = options.script ?? 'src/main.ts';
    const loader = options.compiled ? [] : ['--import', 'tsx'];
    const args = [...(options.nodeArgs ?? []), ...loader, script, ...(options.args ?? [])];
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    watchdog(child);
    const proc = new BatonProcess(options.id, child);
    const readyEvent = options.readyEvent ?? 'server.listening';
    const ready = await proc.waitFor(
      (l) => l.event === readyEvent,
      options.startTimeoutMs ?? 30_000,
      readyEvent,
    );
    proc.httpPort = Number(ready.port ?? 0);
    return proc;
  }

  /** The HTTP API's port (from `server.listening`). */
  get port(): number {
    return this.httpPort;
  }

  /** Process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Whether the process has exited. */
  get alive(): boolean {
    return this.exit === null;
  }

  /** Log lines with `event`, optionally filtered further. */
  events(event: string, where: (line: LogLine) => boolean = () => true): LogLine[] {
    return this.logs.filter((l) => l.event === event && where(l));
  }

  /**
   * Resolves with the first log line (already seen or future) matching `match`; rejects after
   * `timeoutMs` or when the process exits first, with the tail of its output.
   */
  waitFor(
    match: (line: LogLine) => boolean,
    timeoutMs: number,
    what = 'log line',
  ): Promise<LogLine> {
    return this.until(() => this.logs.find(match), timeoutMs, what);
  }

  /** Resolves once `count` lines with `event` (matching `where`) were logged. */
  waitForCount(
    event: string,
    count: number,
    timeoutMs: number,
    where: (line: LogLine) => boolean = () => true,
  ): Promise<LogLine[]> {
    return this.until(
      () => {
        const found = this.events(event, where);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} x ${event}`,
    );
  }

  /** Sends a signal. SIGSTOP/SIGCONT pause and resume; SIGKILL is `kill -9`. */
  signal(signal: NodeJS.Signals): void {
    if (this.exit === null) this.child.kill(signal);
  }

  /** SIGTERM: graceful shutdown (drain, hand off, exit). */
  term(): void {
    this.signal('SIGTERM');
  }

  /** SIGKILL. */
  kill(): void {
    this.signal('SIGKILL');
  }

  /** SIGSTOP (the process stops running, sockets stay open). */
  pause(): void {
    this.signal('SIGSTOP');
  }

  /** SIGCONT. */
  resume(): void {
    this.signal('SIGCONT');
  }

  /** Resolves with the exit once it happened, or rejects after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<Exit> {
    await this.until(() => this.exit ?? undefined, timeoutMs, 'exit');
    return this.exit!;
  }

  /** An HTTP request to this process's API on 127.0.0.1 (loopback: no ADMIN_TOKEN needed). */
  async http(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.httpPort}${path}`, {
      ...init,
      signal: AbortSignal.timeout(10_000),
    });
  }

  /** `POST /admin/command`; resolves with the 202 body or throws with the status and body. */
  async command(
    command: 'start' | 'stop' | 'restart',
    listenerId: string,
    sxtToken?: string,
  ): Promise<unknown> {
    const body = JSON.stringify({ command, listener_id: listenerId, sxtToken });
    const res = await this.http('/admin/command', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (res.status !== 202)
      throw new Error(`command ${command} ${listenerId}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** The value of one Prometheus sample, e.g. `baton_messages_total{result="stale"}` (0 if absent). */
  async metric(sample: string): Promise<number> {
    const text = await (await this.http('/metrics')).text();
    return metricValue(text, sample);
  }

  /** The last `lines` lines of output, for failure messages. */
  tail(lines = 20): string {
    const out = this.logs.slice(-lines).map((l) => JSON.stringify(l));
    return `${this.id} stdout:\n${out.join('\n')}\nstderr:\n${this.stderrTail}`;
  }

  private take(line: string, at: number): void {
    if (!line.startsWith('{')) return;
    try {
      this.logs.push({ ...(JSON.parse(line) as Record<string, unknown>), at });
    } catch {
      return;
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.exit !== null) {
          finish();
          reject(
            new Error(
              `${this.id} exited (${describeExit(this.exit)}) before ${what}\n${this.tail()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `${this.id}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`,
          ),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(attempt);
      };
      this.waiters.add(attempt);
      attempt();
    });
  }
}

/** Kills every process started by this module that is still running, and waits for the exits. */
export async function killAllProcesses(): Promise<void> {
  const exits: Promise<void>[] = [];
  for (const child of running) {
    exits.push(new Promise((resolve) => child.once('close', () => resolve())));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await Promise.all(exits);
}

/** Reads one sample's value from Prometheus text; 0 when the sample is absent. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** Kills the child if this worker dies without running its exit handlers (SIGKILL, crash). */
function watchdog(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 0.5; done; kill -0 ${process.pid} 2>/dev/null || { kill -CONT ${child.pid}; kill -9 ${child.pid}; } 2>/dev/null`;
  spawn('sh', ['-c', script], { stdio: 'ignore', detached: true }).unref();
}
