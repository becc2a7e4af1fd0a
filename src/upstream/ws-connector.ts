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
  const secrets = [req.token];
  // Built only when a failure or a debug line needs them: a takeover connects thousands at once.
  const shownUrl = () =>
    redactUrl(upstreamUrlFor(settings.urlTemplate, req.listenerId, '***'), secrets);
  const log = lazyChild(settings.logger, req.listenerId);
  const failure = (code: string, detail: string, extra?: Partial<UpstreamFailure>) =>
    ({ code, message: `${redactSecrets(detail, secrets)} (${shownUrl()})`, ...extra }) as const;

  if (req.signal.aborted) {
    return Promise.reject(new UpstreamError(failure('ABORTED', 'connect aborted before start')));
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
    return Promise.reject(new UpstreamError(failure('UPSTREAM_ERROR', `invalid URL (${kind})`)));
  }

  return new Promise<UpstreamSession>((resolve, reject) => {
    let settled = false;
    const fail = (f: UpstreamFailure) => {
      if (settled) return;
      settled = true;
      req.signal.removeEventListener('abort', onAbortConnecting);
      log().debug({ event: LOG_EVENTS.upstreamFailed, code: f.code, status: f.status }, f.message);
      reject(new UpstreamError(f));
    };
    const onAbortConnecting = () => {
      fail(failure('ABORTED', 'connect aborted'));
      terminate(ws);
    };

    // An 'error' listener must stay attached for the socket's whole life, or ws errors crash.
    ws.on('error', (err) => fail(failure('UPSTREAM_ERROR', `connect failed: ${err.message}`)));
    ws.on('close', (code) => fail(failure('UPSTREAM_ERROR', `closed during handshake (${code})`)));
    ws.on('unexpected-response', (_request, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 401 || status === 403) {
        fail(
          failure('UPSTREAM_REFUSED', `upstream refused the token (HTTP ${status})`, {
            status,
            fatal: true,
          }),
        );
      } else {
        fail(failure('UPSTREAM_HTTP_ERROR', `upgrade answered HTTP ${status}`, { status }));
      }
      terminate(ws);
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      req.signal.removeEventListener('abort', onAbortConnecting);
      if (settings.logger.isLevelEnabled('debug')) {
        log().debug({ event: LOG_EVENTS.upstreamOpen, url: shownUrl() }, 'upstream open');
      }
      resolve(openSession(settings, ws, req, failure, log));
    });
    req.signal.addEventListener('abort', onAbortConnecting, { once: true });
  });
}

type FailureOf = (code: string, detail: string) => UpstreamFailure;

/** The listener's child logger, created on first use (most sessions never log a line). */
function lazyChild(logger: Logger, listenerId: string): () => Logger {
  let child: Logger | undefined;
  return () => {
    child ??= logger.child({ listener_id: listenerId });
    return child;
  };
}

/** Wires an open socket: messages, pings, the at-most-once `onClose`, `close()` and abort. */
function openSession(
  settings: Settings,
  ws: WebSocket,
  req: ConnectRequest,
  failure: FailureOf,
  log: () => Logger,
): UpstreamSession {
  const { clock } = settings;
  let ended = false; // set once: by us (close/abort) or by the upstream (onClose)
  let awaitingPong = false;
  let pingTimer: TimerId | undefined;
  let graceTimer: TimerId | undefined;

  const stopTimers = () => {
    if (pingTimer !== undefined) clock.cancel(pingTimer);
    pingTimer = undefined;
  };
  // Takes the failure as a function: once we closed the session ourselves, the 'close' event that
  // follows needs no failure built (with its redacted URL) only to drop it.
  const endByUpstream = (describe: () => UpstreamFailure) => {
    if (ended) return;
    const f = describe();
    ended = true;
    stopTimers();
    req.signal.removeEventListener('abort', closeByUs);
    terminate(ws);
    log().debug({ event: LOG_EVENTS.upstreamClosed, code: f.code }, f.message);
    try {
      req.onClose(f);
    } catch (err) {
      log().error({ event: LOG_EVENTS.upstreamCallbackError, err }, 'onClose threw');
    }
  };
  function closeByUs() {
    if (ended) return;
    ended = true;
    stopTimers();
    req.signal.removeEventListener('abort', closeByUs);
    if (ws.readyState !== WebSocket.OPEN) {
      terminate(ws);
      return;
    }
    ws.close(1000, 'closing');
    // Be polite, but do not wait on ws's own 30 s close timer (real time) for a silent upstream.
    graceTimer = clock.schedule(() => terminate(ws), settings.closeGraceMs);
  }
  const tick = () => {
    pingTimer = undefined;
    if (ended) return;
    if (awaitingPong) {
      endByUpstream(() => failure('PING_TIMEOUT', `no pong within ${settings.pingIntervalMs} ms`));
      return;
    }
    awaitingPong = true;
    try {
      ws.ping();
    } catch {
      // Not open any more: the 'close' event that follows ends the session.
    }
    pingTimer = clock.schedule(tick, settings.pingIntervalMs);
  };

  ws.on('pong', () => {
    awaitingPong = false;
  });
  ws.on('message', (data, isBinary) => {
    if (ended) return;
    try {
      req.onMessage(isBinary ? toBytes(data) : toBytes(data).toString('utf8'));
    } catch (err) {
      // The caller's bug must not tear down ws internals; it is logged, the session goes on.
      log().error(
        { event: LOG_EVENTS.upstreamCallbackError, err, binary: isBinary },
        'onMessage threw',
      );
    }
  });
  ws.on('error', (err) =>
    endByUpstream(() =>
      (err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? failure(
            'MESSAGE_TOO_LARGE',
            `a frame exceeded MAX_MESSAGE_BYTES (${settings.maxMessageBytes} bytes)`,
          )
        : failure('UPSTREAM_ERROR', `socket error: ${err.message}`),
    ),
  );
  ws.on('close', (code, reason) => {
    if (graceTimer !== undefined) clock.cancel(graceTimer);
    graceTimer = undefined;
    endByUpstream(() => {
      const why = reason.length > 0 ? `, reason "${reason.toString('utf8')}"` : '';
      return failure('UPSTREAM_CLOSED', `upstream closed the connection (code ${code}${why})`);
    });
  });
  req.signal.addEventListener('abort', closeByUs, { once: true });
  if (req.signal.aborted) closeByUs();
  else pingTimer = clock.schedule(tick, settings.pingIntervalMs);

  return {
    close: closeByUs,
    // Backpressure: ws stops reading the socket, so the kernel's TCP window fills upstream.
    pause: () => {
      if (!ended) ws.pause();
    },
    resume: () => {
      if (!ended) ws.resume();
    },
  };
}

function toBytes(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** ws.terminate(), which must never throw out of an event handler. */
function terminate(ws: WebSocket): void {
  try {
    ws.terminate();
  } catch {
    // Already torn down by ws itself.
  }
}
