/**
 * The upstream connection interface. The runtime's listener actors open upstream sessions only
 * through an `UpstreamConnector`, so the simulator can replace real WebSockets with simulated
 * feeds. Connect timeouts belong to the listener machine (CONNECT_TIMEOUT), which aborts `signal`.
 */

/** Why an upstream session ended or could not start. */
export interface UpstreamFailure {
  /** Stable code: 'UPSTREAM_REFUSED' (HTTP 401/403 on upgrade), 'UPSTREAM_HTTP_ERROR', 'UPSTREAM_CLOSED', 'UPSTREAM_ERROR', 'PING_TIMEOUT', 'MESSAGE_TOO_LARGE', 'ABORTED'. */
  code: string;
  /** Human-readable detail; never contains the token or the full URL with the token. */
  message: string;
  /** HTTP status of a refused upgrade, when there was one. */
  status?: number;
  /** True when retrying soon is pointless (auth refused): back off to the cap. */
  fatal?: boolean;
}

export interface ConnectRequest {
  listenerId: string;
  token: string;
  /** Aborting closes the connection (or abandons the attempt) at once. */
  signal: AbortSignal;
  /**
   * Called for every message, in order, once the session is open: a text frame as a string, a
   * binary frame as its bytes (never decoded, so no byte is altered).
   */
  onMessage(data: string | Uint8Array): void;
  /** Called once when an open session ends for any reason other than `close()` by us. */
  onClose(failure: UpstreamFailure): void;
}

/** An open upstream session. */
export interface UpstreamSession {
  /** Closes the connection; `onClose` is not called for a close we asked for. */
  close(): void;
  /** Stops reading from the connection (backpressure); messages already read may still arrive. */
  pause?(): void;
  /** Reads from the connection again after `pause()`. */
  resume?(): void;
}

export interface UpstreamConnector {
  /**
   * Opens a session. Resolves once the upstream accepted it; rejects with an `UpstreamError`
   * carrying an `UpstreamFailure` when the attempt fails or `signal` is aborted.
   */
  connect(request: ConnectRequest): Promise<UpstreamSession>;
}

/** The error a failed connect rejects with. */
export class UpstreamError extends Error {
  readonly failure: UpstreamFailure;
  constructor(failure: UpstreamFailure) {
    super(failure.message);
    this.name = 'UpstreamError';
    this.failure = failure;
  }
}
