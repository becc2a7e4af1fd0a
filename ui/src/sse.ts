/**
 * A small incremental parser of server-sent events, for streams read with `fetch` (EventSource
 * cannot send an Authorization header). No DOM: the unit tests run it in Node.
 */

/** One parsed server-sent event. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Incremental SSE parser (the WHATWG rules that matter here: fields, comments, blank-line end). */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;
  /** The last `id` seen, for a reconnect's Last-Event-ID. */
  lastId: string | null = null;

  /** Feeds a chunk of text; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      // A trailing CR may be the first half of a CRLF split across chunks: wait for the next one.
      if (nl === this.buffer.length - 1 && this.buffer[nl] === '\r') break;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) {
          out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
          if (this.id !== null) this.lastId = this.id;
        }
        this.data = [];
        this.event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id' && !value.includes('\0')) this.id = value;
    }
    return out;
  }
}
