import { describe, expect, it } from 'vitest';
import { binaryMessageIdOf, messageIdOf } from '../../src/runtime/sink.js';

describe('messageIdOf', () => {
  it('keeps the whole id, however long: ids that differ only at the end stay distinct', () => {
    const a = `${'x'.repeat(100_000)}a`;
    const b = `${'x'.repeat(100_000)}b`;
    expect(messageIdOf(JSON.stringify({ id: a }), 'id')).toBe(a);
    expect(messageIdOf(JSON.stringify({ id: b }), 'id')).toBe(b);
  });

  it('numbers become their decimal text; other JSON gives no id', () => {
    expect(messageIdOf('{"id":42}', 'id')).toBe('42');
    for (const text of ['{"id":""}', '{"id":null}', '[1]', 'plain', '{"id":', '{"other":"x"}']) {
      expect(messageIdOf(text, 'id')).toBe('');
    }
  });
});

describe('binaryMessageIdOf', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  it('reads the id of UTF-8 JSON in a binary frame', () => {
    expect(binaryMessageIdOf(bytes(' \n{"id":"b-1","t":"h\u00e9"}'), 'id')).toBe('b-1');
  });

  it('gives no id for bytes that are not valid UTF-8 or not JSON', () => {
    expect(binaryMessageIdOf(new Uint8Array([0x7b, 0xff, 0x7d]), 'id')).toBe('');
    expect(binaryMessageIdOf(new Uint8Array([0x00, 0x01]), 'id')).toBe('');
    expect(binaryMessageIdOf(new Uint8Array([]), 'id')).toBe('');
    // Valid UTF-8 would be an id, but a lone continuation byte makes the frame binary data.
    expect(binaryMessageIdOf(new Uint8Array([...bytes('{"id":"x"}'), 0x80]), 'id')).toBe('');
  });
});
