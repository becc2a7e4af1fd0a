/**
 * The production `UpstreamConnector`: one `ws` client per session. Timers (pings, the close grace)
 * run only on the injected Clock; the connect timeout belongs to the listener machine, which
 * aborts `signal` (ws's own `handshakeTimeout` is deliberately unused: it runs on real timers).
 * Neither the token nor the URL that carries it ever appears in a failure or a log line.
 */
import WebSocket from 'ws';
import type { Clock, TimerId } from '../clock.js';
import { LOG_EVENTS, type Logger, silentLogger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  type ConnectRequest,
  type UpstreamConnector,
  UpstreamError,
  type UpstreamFailure,
  type UpstreamSession,
} from './types.js';
import { redactSecrets, redactUrl, upstreamUrlFor } from './url.js';

export interface WsConnectorOptions {
  /** UPSTREAM_URL: ws/wss template with `{token}` and `{listener_id}`. */
  urlTemplate: string;
  clock: Clock;
  /** A ping goes out every interval; a pong still missing when the next is due = dead. */
  pingIntervalMs: number;
  /** After our `close()`, how long the upstream gets to answer the close frame. Default 1000. */
  closeGraceMs?: number;
  /**
   * MAX_MESSAGE_BYTES: a larger frame ends the session with MESSAGE_TOO_LARGE before ws buffers
   * it (ws's `maxPayload`). Default 1 MiB.
   */
  maxMessageBytes?: number;
  logger?: Logger;
  /** Where every attempt's result and every open's duration are recorded (the service's metrics). */
  metrics?: ConnectMetrics;
}

/** The two connect metrics; the connector records nothing else. */
export type ConnectMetrics = Pick<Metrics, 'connectAttempts' | 'connectDuration'>;

/**
 * A connector over `ws`. Text messages reach `onMessage` as strings; binary messages as their
 * bytes, never decoded (a UTF-8 decode would replace invalid sequences and damage them).
 */
export function createWsConnector(options: WsConnectorOptions): UpstreamConnector {
  if (!Number.isInteger(options.pingIntervalMs) || options.pingIntervalMs <= 0) {
    throw new RangeError('pingIntervalMs must be an integer > 0');
  }
  const settings = Object.freeze({
    closeGraceMs: 1000,
    maxMessageBytes: 1024 * 1024,
    ...options,
    logger: options.logger ?? silentLogger(),
  });
  const { metrics } = options;
  if (!metrics) return { connect: (request) => connect(settings, request) };
  return {
    connect: (request) => measured(metrics, settings.clock, () => connect(settings, request)),
  };
}

type Settings = Required<Omit<WsConnectorOptions, 'metrics'>>;

/** `result` label of `baton_connect_attempts_total` per failure code: a small, fixed set. */
const ATTEMPT_RESULT: Readonly<Record<string, string>> = Object.freeze({
  UPSTREAM_REFUSED: 'refused',
  UPSTREAM_HTTP_ERROR: 'http_error',
  UPSTREAM_ERROR: 'error',
  // The listener machine's CONNECT_TIMEOUT aborts the attempt, as does a stop.
  ABORTED: 'aborted',
});

/** Counts the attempt by result and, once open, observes the time it took to open. */
async function measured(
  metrics: ConnectMetrics,
  clock: Clock,
  attempt: () => Promise<UpstreamSession>,
): Promise<UpstreamSession> {
  const started = clock.now();
  try {
    const session = await attempt();
    metrics.connectAttempts.inc({ result: 'ok' });
    metrics.connectDuration.observe((clock.now() - started) / 1000);
    return session;
  } catch (err) {
    const code = err instanceof UpstreamError ? err.failure.code : '';
    metrics.connectAttempts.inc({ result: ATTEMPT_RESULT[code] ?? 'error' });
    throw err;
  }
}

function connect(settings: Settings, req: ConnectRequest): Promise<UpstreamSession> {
  if (req.signal.aborted) {
    const session = new WsSession(settings, req);
    return Promise.reject(
      new UpstreamError(session.failure('ABORTED', 'connect aborted before start')),
    );
  }
  let ws: WebSocket;
  try {
    ws = new WebSocket(upstreamUrlFor(settings.urlTemplate, req.listenerId, req.token), {
      perMessageDeflate: false,
      followRedirects: false,
      maxPayload: settings.maxMessageBytes,
    });
  } catch (err) {
    // ws's "Invalid URL: <url>" would carry the token: report only the error's kind.
    const kind = err instanceof Error ? err.name : 'Error';
    const failure = new WsSession(settings, req).failure('UPSTREAM_ERROR', `invalid URL (${kind})`);
    return Promise.reject(new UpstreamError(failure));
  }
  return new Promise<UpstreamSession>((resolve, reject) => {
    const session = new WsSession(settings, req, ws, resolve, reject);
    (ws as TaggedSocket)[SESSION] = session;
    // An 'error' listener must stay attached for the socket's whole life, or ws errors crash.
    ws.on('error', onWsError);
    ws.on('close', onWsClose);
    ws.on('unexpected-response', onWsUnexpectedResponse);
    ws.once('open', onWsOpen);
    ws.on('pong', onWsPong);
    ws.on('message', onWsMessage);
    // The session is the abort listener itself (`handleEvent`): no closure per connection.
    req.signal.addEventListener('abort', session, { once: true });
  });
}

/** A socket tagged with its session, so one set of shared handlers serves every connection. */
const SESSION = Symbol('baton.session');
type TaggedSocket = WebSocket & { [SESSION]?: WsSession };
const sessionOf = (ws: WebSocket) => (ws as TaggedSocket)[SESSION]!;

// ws calls its listeners with `this` = the socket. Shared module functions instead of closures
// per connection keep a live listener's footprint small (docs/message-path.md, memory).
function onWsError(this: WebSocket, err: Error) {
  sessionOf(this).socketError(err);
}
function onWsClose(this: WebSocket, code: number, reason: Buffer) {
  sessionOf(this).socketClosed(code, reason);
}
function onWsUnexpectedResponse(
  this: WebSocket,
  _request: unknown,
  res: { statusCode?: number; resume(): void },
) {
  sessionOf(this).refused(res);
}
function onWsOpen(this: WebSocket) {
  sessionOf(this).opened();
}
function onWsPong(this: WebSocket) {
  sessionOf(this).awaitingPong = false;
}
function onWsMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean) {
  sessionOf(this).message(data, isBinary);
}

/**
 * One connection, from the handshake to its end: settles the connect promise once, then wires
 * messages, pings, the at-most-once `onClose`, `close()` and abort. Its state lives in fields, not
 * in closures, and the strings of a failure (redacted URL) are built only when one is reported.
 */
class WsSession implements UpstreamSession {
  /** Set once the connect promise settled (open, failed or aborted). */
  private settled = false;
  /** Set when the handshake succeeded: from then on socket events end the session. */
  private isOpen = false;
  /** Set once: by us (close/abort) or by the upstream (onClose). */
  private ended = false;
  awaitingPong = false;
  private pingTimer: TimerId | undefined;
  private graceTimer: TimerId | undefined;
  /** The listener's child logger, created on first use (most sessions never log a line). */
  private child: Logger | undefined;
  /** Pings on the clock, one function per session (made at open, reused by every ping). */
  private tickFn: (() => void) | undefined;

  /** What the session calls back; without the signal once open (see `opened`). */
  private req: Omit<ConnectRequest, 'signal'>;
  /** The connect's abort signal, held only until the handshake is over. */
  private signal: AbortSignal | null;

  constructor(
    private readonly settings: Settings,
    req: ConnectRequest,
    private readonly ws?: WebSocket,
    private resolve?: (session: UpstreamSession) => void,
    private reject?: (err: Error) => void,
  ) {
    this.req = req;
    this.signal = req.signal;
  }

  /** A failure whose message never shows the token (the URL is shown with `***` for it). */
  failure(code: string, detail: string, extra?: Partial<UpstreamFailure>): UpstreamFailure {
    const message = `${redactSecrets(detail, [this.req.token])} (${this.shownUrl()})`;
    return { code, message, ...extra };
  }

  /** The URL with `***` for the token (and the token redacted wherever else it shows). */
  private shownUrl(): string {
    const { urlTemplate } = this.settings;
    return redactUrl(upstreamUrlFor(urlTemplate, this.req.listenerId, '***'), [this.req.token]);
  }

  private log(): Logger {
    this.child ??= this.settings.logger.child({ listener_id: this.req.listenerId });
    return this.child;
  }

  /** A debug line; no child logger is made for it while debug is off. */
  private debug(fields: Record<string, unknown>, message: string): void {
    if (this.settings.logger.isLevelEnabled('debug')) this.log().debug(fields, message);
  }

  /** The abort signal fired (EventListener object): abandon the attempt or close the session. */
  handleEvent(): void {
    if (this.isOpen) this.close();
    else {
      this.fail(this.failure('ABORTED', 'connect aborted'));
      terminate(this.ws);
    }
  }

  private fail(f: UpstreamFailure): void {
    if (this.settled) return;
    const reject = this.reject;
    this.settle();
    this.signal?.removeEventListener('abort', this);
    this.debug({ event: LOG_EVENTS.upstreamFailed, code: f.code, status: f.status }, f.message);
    reject?.(new UpstreamError(f));
  }

  private settle(): void {
    this.settled = true;
    this.resolve = undefined;
    this.reject = undefined;
  }

  opened(): void {
    if (this.settled) return;
    const resolve = this.resolve;
    this.settle();
    this.isOpen = true;
    // Stay the signal's listener (an abort still closes the session) but stop keeping the signal
    // itself: nothing else holds it once the connect is done, so it need not live as long as we do.
    const { signal: _, ...req } = this.req as ConnectRequest;
    this.req = req;
    this.signal = null;
    if (this.settings.logger.isLevelEnabled('debug')) {
      this.log().debug({ event: LOG_EVENTS.upstreamOpen, url: this.shownUrl() }, 'upstream open');
    }
    this.tickFn = () => this.tick();
    this.pingTimer = this.settings.clock.schedule(this.tickFn, this.settings.pingIntervalMs);
    resolve?.(this);
  }

  refused(res: { statusCode?: number; resume(): void }): void {
    const status = res.statusCode ?? 0;
    res.resume();
    if (status === 401 || status === 403) {
      const detail = `upstream refused the token (HTTP ${status})`;
      this.fail(this.failure('UPSTREAM_REFUSED', detail, { status, fatal: true }));
    } else {
      this.fail(this.failure('UPSTREAM_HTTP_ERROR', `upgrade answered HTTP ${status}`, { status }));
    }
    terminate(this.ws);
  }

  socketError(err: Error): void {
    if (!this.isOpen) {
      this.fail(this.failure('UPSTREAM_ERROR', `connect failed: ${err.message}`));
      return;
    }
    this.endByUpstream(() =>
      (err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? this.failure(
            'MESSAGE_TOO_LARGE',
            `a frame exceeded MAX_MESSAGE_BYTES (${this.settings.maxMessageBytes} bytes)`,
          )
        : this.failure('UPSTREAM_ERROR', `socket error: ${err.message}`),
    );
  }

  socketClosed(code: number, reason: Buffer): void {
    if (!this.isOpen) {
      this.fail(this.failure('UPSTREAM_ERROR', `closed during handshake (${code})`));
      return;
    }
    if (this.graceTimer !== undefined) this.settings.clock.cancel(this.graceTimer);
    this.graceTimer = undefined;
    this.endByUpstream(() => {
      const why = reason.length > 0 ? `, reason "${reason.toString('utf8')}"` : '';
      return this.failure('UPSTREAM_CLOSED', `upstream closed the connection (code ${code}${why})`);
    });
  }

  message(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.ended || !this.isOpen) return;
    try {
      this.req.onMessage(isBinary ? toBytes(data) : toBytes(data).toString('utf8'));
    } catch (err) {
      // The caller's bug must not tear down ws internals; it is logged, the session goes on.
      this.log().error(
        { event: LOG_EVENTS.upstreamCallbackError, err, binary: isBinary },
        'onMessage threw',
      );
    }
  }

  private stopTimers(): void {
    if (this.pingTimer !== undefined) this.settings.clock.cancel(this.pingTimer);
    this.pingTimer = undefined;
  }

  // Takes the failure as a function: once we closed the session ourselves, the 'close' event that
  // follows needs no failure built (with its redacted URL) only to drop it.
  private endByUpstream(describe: () => UpstreamFailure): void {
    if (this.ended) return;
    const f = describe();
    this.ended = true;
    this.stopTimers();
    this.signal?.removeEventListener('abort', this);
    terminate(this.ws);
    this.debug({ event: LOG_EVENTS.upstreamClosed, code: f.code }, f.message);
    try {
      this.req.onClose(f);
    } catch (err) {
      this.log().error({ event: LOG_EVENTS.upstreamCallbackError, err }, 'onClose threw');
    }
  }

  /** Closes the session; `onClose` is not called for it. */
  close(): void {
    const ws = this.ws;
    if (this.ended || !ws) return;
    this.ended = true;
    this.stopTimers();
    this.signal?.removeEventListener('abort', this);
    if (ws.readyState !== WebSocket.OPEN) {
      terminate(ws);
      return;
    }
    ws.close(1000, 'closing');
    // Be polite, but do not wait on ws's own 30 s close timer (real time) for a silent upstream.
    this.graceTimer = this.settings.clock.schedule(() => terminate(ws), this.settings.closeGraceMs);
  }

  /** Backpressure: ws stops reading the socket, so the kernel's TCP window fills upstream. */
  pause(): void {
    if (!this.ended) this.ws?.pause();
  }

  resume(): void {
    if (!this.ended) this.ws?.resume();
  }

  private tick(): void {
    this.pingTimer = undefined;
    if (this.ended) return;
    if (this.awaitingPong) {
      const ms = this.settings.pingIntervalMs;
      this.endByUpstream(() => this.failure('PING_TIMEOUT', `no pong within ${ms} ms`));
      return;
    }
    this.awaitingPong = true;
    try {
      this.ws?.ping();
    } catch {
      // Not open any more: the 'close' event that follows ends the session.
    }
    this.pingTimer = this.settings.clock.schedule(this.tickFn!, this.settings.pingIntervalMs);
  }
}

function toBytes(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** ws.terminate(), which must never throw out of an event handler. */
function terminate(ws: WebSocket | undefined): void {
  try {
    ws?.terminate();
  } catch {
    // Already torn down by ws itself.
  }
}
