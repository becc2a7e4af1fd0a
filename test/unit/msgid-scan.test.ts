/**
 * The single-pass id scanner against its definition (JSON.parse, then the field): the same answer
 * on every input, valid or not. Random JSON from fast-check, documents that plant the id field at
 * the top level and deeper (duplicated, with escaped keys, odd whitespace, every kind of value),
 * those documents damaged at one place, random text, and a table of tricky payloads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, scanMessageId } from '../../src/runtime/msgid-scan.js';
import { binaryMessageIdOf, messageIdByParse, messageIdOf } from '../../src/runtime/sink.js';

/** The scanner is sure (not `undefined`) and agrees with JSON.parse; so does messageIdOf. */
function agrees(text: string, field: string): void {
  const expected = messageIdByParse(text, field);
  expect(scanMessageId(text, field), JSON.stringify({ text, field })).toBe(expected);
  expect(messageIdOf(text, field)).toBe(expected);
}

const FIELDS = ['id', 'i', 'ids', 'Id', '', '\u00e9', 'a"b', '__proto__', 'constructor'];

describe('scanMessageId agrees with JSON.parse', () => {
  it('on random JSON documents (fc.json), for the id field and for keys they hold', () => {
    const units = ['grapheme', 'binary', 'binary-ascii'] as const;
    const doc = fc
      .constantFrom(...units)
      .chain((stringUnit) => fc.json({ stringUnit, maxDepth: 4 }));
    fc.assert(
      fc.property(doc, fc.constantFrom(...FIELDS), (text, field) => {
        agrees(text, field);
        const parsed: unknown = JSON.parse(text);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
          for (const key of Object.keys(parsed)) agrees(text, key);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('on random JSON values pretty-printed (fc.jsonValue, JSON.stringify with indents)', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(fc.constantFrom(...FIELDS, 'x'), fc.jsonValue({ maxDepth: 2 })),
    );
    fc.assert(
      fc.property(
        value,
        fc.constantFrom(0, 1, '\t', ' \r\n'),
        fc.constantFrom(...FIELDS),
        (v, ind, f) => agrees(JSON.stringify(v, null, ind) ?? '', f),
      ),
      { numRuns: 1500 },
    );
  });

  it('on documents that plant the field at the top level and nested, duplicated and escaped', () => {
    fc.assert(
      fc.property(plantedDoc, (text) => agrees(text, 'id')),
      { numRuns: 3000 },
    );
  });

  it('on planted documents damaged at one place (mostly invalid JSON)', () => {
    const damaged = fc
      .tuple(
        plantedDoc,
        fc.nat(),
        fc.constantFrom('', ...'{}[]",:\\ 0-.eEtfnuAG\u0000\u0011\u001f\u00a0x'),
        fc.nat(2),
      )
      .map(([text, at, ch, cut]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + ch + text.slice(i + cut);
      });
    fc.assert(
      fc.property(damaged, (text) => agrees(text, 'id')),
      { numRuns: 3000 },
    );
  });

  it('on random text', () => {
    const noise = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc
        .string({ unit: fc.constantFrom(...'{}[]":,\\ id0123456789.eE+-tfnul') })
        .map((s) => `{${s}`),
    );
    fc.assert(
      fc.property(noise, fc.constantFrom('id', 'i'), (text, field) => agrees(text, field)),
      { numRuns: 3000 },
    );
  });

  it('in binary frames: random bytes and UTF-8 documents, as JSON.parse of the decoded text', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const byParse = (bytes: Uint8Array) => {
      try {
        return messageIdByParse(strict.decode(bytes), 'id');
      } catch {
        return ''; // not UTF-8: binary data, no id
      }
    };
    const frames = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 16 }).map((b) => new Uint8Array([0x7b, ...b, 0x7d])),
      plantedDoc.map((text) => new TextEncoder().encode(text)),
    );
    fc.assert(
      fc.property(frames, (bytes) => {
        expect(binaryMessageIdOf(bytes, 'id')).toBe(byParse(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('on every JSON number literal shape (rounding, exponents, overflow, -0)', () => {
    const literal = fc.stringMatching(
      /^-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?$/,
    );
    fc.assert(
      fc.property(literal, (n) => agrees(`{"id":${n}}`, 'id')),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.double(), (d) => agrees(`{"id":${JSON.stringify(d)}}`, 'id')));
  });

  it('on a table of tricky payloads', () => {
    for (const text of TRICKY) agrees(text, 'id');
  });
});

describe('scanMessageId nesting', () => {
  const nested = (depth: number) =>
    `{"a":${'['.repeat(depth)}{"id":"inner"}${']'.repeat(depth)},"id":"outer"}`;
  it(`scans ${MAX_DEPTH} containers below the top level and leaves deeper ones to JSON.parse`, () => {
    // depth arrays plus the inner object: MAX_DEPTH containers in all is still scanned.
    expect(scanMessageId(nested(MAX_DEPTH - 1), 'id')).toBe('outer');
    expect(scanMessageId(nested(MAX_DEPTH), 'id')).toBeUndefined();
    expect(messageIdOf(nested(MAX_DEPTH), 'id')).toBe('outer');
    expect(messageIdOf(nested(100_000), 'id')).toBe(messageIdByParse(nested(100_000), 'id'));
    expect(messageIdOf(`{"id":1,"a":${'['.repeat(5000)}}`, 'id')).toBe('');
  });
});

const TRICKY = [
  '{"id":"a"}',
  ' \t\r\n{ "id" : "a" } \n',
  '{"id":"a","id":"b"}',
  '{"id":"a","id":null}',
  '{"id":null,"id":7}',
  '{"id":"a","x":{"id":"b"}}',
  '{"x":{"id":"b"}}',
  '{"x":[{"id":"b"}],"y":"id"}',
  '{"i\\u0064":"esc-key"}',
  '{"\\u0069\\u0044":"no: iD"}',
  '{"i\\u0044":"no"}',
  '{"id\\u0000":"no"}',
  '{"\\"id\\"":"quoted key"}',
  '{"id":"a\\"b"}',
  '{"id":"a\\\\"}',
  '{"id":"\\u00e9\\ud83d\\ude00"}',
  '{"id":"\\ud800"}',
  '{"id":"\ud800"}',
  '{"id":"h\u00e9\u{1f600}"}',
  '{"id":"\\/\\b\\f\\n\\r\\t"}',
  '{"id":"\\x41"}',
  '{"id":"\\u12"}',
  '{"id":"\\u12g4"}',
  '{"id":"tab\there"}',
  '{"id":"\u001f"}',
  `{"id":"${'x'.repeat(20)}\u001f"}`,
  `{"id":"${'x'.repeat(20)}\\"}`,
  `{"id":"${'x'.repeat(20)}\\n${'x'.repeat(20)}"}`,
  `{"id":"${'x'.repeat(20)}`,
  `{"i${'x'.repeat(30)}":1,"id":"${'\u00e9'.repeat(40)}"}`,
  '{"id":"\\u00\u00111"}',
  '{"id":"\\u00\u0019A"}',
  '{"id":"\\u00aF"}',
  '{"id":"\u007f"}',
  '{"id":""}',
  '{"id":0}',
  '{"id":-0}',
  '{"id":1.50}',
  '{"id":1e3}',
  '{"id":1E+2}',
  '{"id":1e400}',
  '{"id":-1e400}',
  '{"id":12345678901234567890}',
  '{"id":0.1e-400}',
  '{"id":01}',
  '{"id":1.}',
  '{"id":.5}',
  '{"id":+1}',
  '{"id":-}',
  '{"id":1e}',
  '{"id":0x10}',
  '{"id":NaN}',
  '{"id":Infinity}',
  '{"id":true}',
  '{"id":false}',
  '{"id":null}',
  '{"id":[1]}',
  '{"id":{"id":"x"}}',
  '{"id":"a",}',
  '{"id":"a"',
  '{"id" "a"}',
  '{"id":"a"} x',
  '{"id":"a"}}',
  '{"id":"a"}{"id":"b"}',
  '{,"id":"a"}',
  '{"a":1,,"id":"b"}',
  '{"a":[1,],"id":"b"}',
  '{"a":[,1],"id":"b"}',
  '{"a":tru,"id":"b"}',
  '{"a":nul,"id":"b"}',
  '{"a":{"b":1,"b":2},"id":"dup nested"}',
  '{"a":{"b"},"id":"x"}',
  '{"a":{1:2},"id":"x"}',
  "{'id':'a'}",
  '{id:"a"}',
  '\ufeff{"id":"bom"}',
  '\u00a0{"id":"nbsp"}',
  '{"id":"a"}\u00a0',
  '\u2028{"id":"ls"}',
  '{}',
  '{ }',
  '[{"id":"a"}]',
  '"id"',
  '42',
  'null',
  '',
  ' ',
  '{',
  '{"',
  '{"id',
  '{"id":',
  '{"id":"',
  '{"id":"a\\',
  '{"__proto__":"p"}',
  '{"constructor":"c"}',
];

/** A tiny PRNG (mulberry32) so one generated seed drives all of a document's rendering choices. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % 4294967296) % n;
  };
}

type Node = { obj: [string, Node][] } | { arr: Node[] } | { str: string } | { raw: string };

const keyArb = fc.constantFrom('id', 'id', 'i', 'idd', 'ID', '', 'x', '"', 'i"d', '\u00e9', 'id ');
const strArb = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  // Long strings: past the first 16 characters the scanner hands a string's rest to a regex.
  fc.string({ unit: 'binary', minLength: 14, maxLength: 40 }),
  fc
    .tuple(fc.nat(40), fc.constantFrom('"', '\\', '\u0000', '\u001f', '\ud800'))
    .map(([n, ch]) => `${'x'.repeat(n)}${ch}${'y'.repeat(n % 7)}`),
  fc.constantFrom('', '"', '\\', '\u0000', '\u001f', '\ud800', '\u2028', 'id'),
);
const rawArb = fc.oneof(
  fc.constantFrom('true', 'false', 'null', '0', '-0', '1e400', '10', '1.5e-3', '-12.0'),
  fc.double().map((d) => JSON.stringify(d)),
  fc.integer().map(String),
);
const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    strArb.map((str) => ({ str })),
    rawArb.map((raw) => ({ raw })),
    fc.array(fc.tuple(keyArb, tie('node')), { maxLength: 4 }).map((obj) => ({ obj })),
    fc.array(tie('node'), { maxLength: 3 }).map((arr) => ({ arr })),
  ),
}));
/** A top-level object (its members often named `id`) rendered with random whitespace and escapes. */
const plantedDoc = fc
  .tuple(fc.array(fc.tuple(keyArb, node), { maxLength: 5 }), fc.integer())
  .map(([members, seed]) => render({ obj: members }, prng(seed)));

function render(n: Node, pick: (n: number) => number): string {
  const ws = () => [' ', '', '', '\n', '\t', '\r\n  '][pick(6)]!;
  if ('str' in n) return quote(n.str, pick);
  if ('raw' in n) return n.raw;
  if ('arr' in n) return `[${ws()}${n.arr.map((x) => render(x, pick) + ws()).join(`,${ws()}`)}]`;
  const members = n.obj.map(([k, v]) => `${quote(k, pick)}${ws()}:${ws()}${render(v, pick)}`);
  return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
}

/** A JSON string literal for `s`, each character escaped (\uXXXX or a short escape) at random. */
function quote(s: string, pick: (n: number) => number): string {
  let out = '"';
  for (const ch of s.split('')) {
    const code = ch.charCodeAt(0);
    const must = code < 0x20 || ch === '"' || ch === '\\';
    const choice = pick(4);
    if (!must && choice > 0) out += ch;
    else if (choice === 1 && JSON.stringify(ch).length === 4)
      out += JSON.stringify(ch).slice(1, -1);
    else {
      const hex = code.toString(16).padStart(4, '0');
      out += `\\u${pick(2) ? hex : hex.toUpperCase()}`;
    }
  }
  return `${out}"`;
}
