/**
 * Talking to the admin API from the page: the bearer token lives in sessionStorage (never in a
 * URL), every request carries it as a header, and the inspection stream is read with fetch and a
 * small SSE parser because EventSource cannot send headers.
 */
import { signal } from '@preact/signals';
import { type SseEvent, SseParser } from './sse';

export type { SseEvent };

const TOKEN_KEY = 'baton.adminToken';

/** 'unknown' until the first answer; 'needed' after a 401; 'forbidden' for a non-loopback 403. */
export const auth = signal<'unknown' | 'ok' | 'needed' | 'forbidden'>('unknown');

/** The token the user entered this session, or null. */
export function readToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps the token for this tab only; it is sent in the Authorization header and nowhere else. */
export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = readToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

/** An answer of the API: status and parsed JSON (or the text when it is not JSON). */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** Calls `/admin/<path>`, updating `auth` from 401/403 answers. */
export async function api(path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`/admin/${path}`, {
    method: init.method ?? 'GET',
    headers: headers(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: init.body === undefined ? null : JSON.stringify(init.body),
    cache: 'no-store',
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (should not happen on /admin/*): show the text as it came.
  }
  if (res.status === 401) auth.value = 'needed';
  else if (res.status === 403) auth.value = 'forbidden';
  else if (res.ok) auth.value = 'ok';
  return { status: res.status, body } satisfies ApiAnswer;
}

/** Connection state of the tab's one inspection stream. */
export const streamState = signal<'connecting' | 'open' | 'closed'>('connecting');

/**
 * Keeps one inspection stream (`/admin/<path>`) open, reconnecting after a pause; each event goes
 * to `onEvent`. Returns a function that closes it.
 */
export function openInspectStream(path: string, onEvent: (e: SseEvent) => void): () => void {
  let closed = false;
  let controller: AbortController | null = null;
  const parser = new SseParser();
  const run = async () => {
    while (!closed) {
      controller = new AbortController();
      streamState.value = 'connecting';
      try {
        const extra: Record<string, string> = { Accept: 'text/event-stream' };
        if (parser.lastId) extra['Last-Event-ID'] = parser.lastId;
        const res = await fetch(`/admin/${path}`, {
          headers: headers(extra),
          signal: controller.signal,
          cache: 'no-store',
        });
        if (res.status === 401) auth.value = 'needed';
        if (res.ok && res.body) {
          streamState.value = 'open';
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const e of parser.push(value)) onEvent(e);
          }
        } else {
          await res.body?.cancel();
        }
      } catch {
        // Network error or abort: fall through to the pause and retry.
      }
      streamState.value = 'closed';
      if (closed) return;
      await new Promise((r) => setTimeout(r, auth.value === 'needed' ? 1000 : 2000));
    }
  };
  void run();
  return () => {
    closed = true;
    controller?.abort();
  };
}
