/** The dashboard's SSE parser: fields, comments, multi-line data, ids, and chunks split anywhere. */
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../ui/src/sse.js';

const STREAM =
  'event: hello\ndata: {"instance_id":"i1"}\n\n' +
  ': keep-alive\n\n' +
  'event: inspection\nid: 1\ndata: {"a":1}\n\n' +
  'data: line one\r\ndata:line two\r\n\r\n' +
  'event: dropped\nid: 2\ndata: {"dropped":3}\n\n' +
  'event: ignored-without-data\n\n' +
  'data: unfinished';

describe('SseParser', () => {
  it('parses a stream whole', () => {
    const p = new SseParser();
    expect(p.push(STREAM)).toEqual([
      { event: 'hello', data: '{"instance_id":"i1"}', id: null },
      { event: 'inspection', data: '{"a":1}', id: '1' },
      { event: 'message', data: 'line one\nline two', id: '1' },
      { event: 'dropped', data: '{"dropped":3}', id: '2' },
    ]);
    expect(p.lastId).toBe('2');
  });

  it('gives the same events however the stream is cut into chunks', () => {
    const whole = new SseParser().push(STREAM);
    for (const size of [1, 2, 3, 7, 13]) {
      const p = new SseParser();
      const got = [];
      for (let i = 0; i < STREAM.length; i += size) got.push(...p.push(STREAM.slice(i, i + size)));
      expect(got).toEqual(whole);
    }
  });
});
