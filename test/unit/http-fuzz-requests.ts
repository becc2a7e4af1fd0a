/**
 * The request generators of the HTTP fuzz tests (fast-check arbitraries): hostile tokens, command-
 * like bodies, spellings of the known paths, odd headers. Apart from the tests so that the tests
 * read as what they check, not how their input is made.
 */
import fc from 'fast-check';
import { AUTH } from '../support/http-fixture.js';

/** Secrets are long and recognisable, so "never echoed" can be checked by substring. */
const secret = fc.stringMatching(/^[a-f0-9]{16}$/).map((hex) => `tok-${hex}`);
const validId = fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/);
const anything = fc.oneof(fc.jsonValue(), fc.constant(undefined));

/** C0 controls, DEL, C1 controls (U+0085 among them) and lone surrogates: always refused. */
export function hasForbiddenChar(token: string): boolean {
  // Iterating by code point: a surrogate pair is one astral character, a lone one stays alone.
  for (const ch of token) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)) return true;
  }
  return false;
}
const forbiddenChar = fc.oneof(
  fc.integer({ min: 0x00, max: 0x1f }),
  fc.constant(0x7f),
  fc.integer({ min: 0x80, max: 0x9f }),
  fc.integer({ min: 0xd800, max: 0xdfff }),
);
/** Characters that look odd but are not controls: accepted and stored as sent. */
const oddButAllowed = fc.constantFrom(
  '\ufeff',
  '\u00a0',
  '\u2028',
  '\u200b',
  '\u00ad',
  ' ',
  '\u{1f600}',
);
/** A token with hostile characters spliced in: C1 controls, BOMs, surrogates, DEL... */
export const hostileToken = fc
  .tuple(
    secret,
    fc.array(
      fc.oneof(
        forbiddenChar.map((c) => String.fromCharCode(c)),
        oddButAllowed,
      ),
      { minLength: 1, maxLength: 3 },
    ),
    fc.nat(),
  )
  .map(([base, extras, at]) => {
    let out = base;
    for (const extra of extras) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + extra + out.slice(i);
    }
    return out;
  });

/** Command-like objects: mostly plausible, with random junk in random fields. */
const commandish = fc
  .tuple(
    fc.record(
      {
        command: fc.oneof(fc.constantFrom('start', 'stop', 'restart'), fc.string(), anything),
        listener_id: fc.oneof(validId, fc.string({ maxLength: 140 }), anything),
        sxtToken: fc.oneof(secret, fc.string(), anything, hostileToken),
      },
      { requiredKeys: [] },
    ),
    fc.option(
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
      {
        nil: undefined,
      },
    ),
  )
  .map(([base, extra]) => (extra ? { ...extra, ...base } : base));

const body = fc.oneof(
  { weight: 5, arbitrary: commandish.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 17_000, maxLength: 17_100 }) },
  { weight: 1, arbitrary: commandish.map((v) => JSON.stringify(v).slice(0, -1)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  // A UTF-8 byte order mark before the JSON (ignored), or a BOM inside it (a plain character).
  { weight: 1, arbitrary: commandish.map((v) => `\ufeff${JSON.stringify(v)}`) },
  { weight: 1, arbitrary: commandish.map((v) => `{"\ufeffcommand":${JSON.stringify(v)}}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const KNOWN = [
  '/admin/command',
  '/admin/instances',
  '/admin/owners',
  '/admin/listeners',
  '/admin/listeners/l1',
  '/admin/machines',
  '/admin/actors',
  '/admin/inspect',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
];
const pathChar = fc.constantFrom(...'abcAZ09-._~%/:@!$&()*+,;=?#'.split(''));
/** One way of spelling a known path differently: percent-encoding, dot segments, slashes, case. */
const variantOf = fc
  .tuple(
    fc.constantFrom(...KNOWN),
    fc.nat(),
    fc.constantFrom(
      'pct',
      'dot',
      'dotdot',
      'pct-dot',
      'slash2',
      'trailing',
      'upper',
      'pct2f',
      'double-pct',
    ),
  )
  .map(([known, at, how]) => {
    const i = 1 + (at % (known.length - 1));
    const ch = known[i]!;
    const hex = `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    switch (how) {
      case 'pct':
        return ch === '/' ? known : known.slice(0, i) + hex + known.slice(i + 1);
      case 'dot':
        return known.replace(/\/(?=[^/]*$)/, '/./');
      case 'dotdot':
        return known.replace(/\/(?=[^/]*$)/, '/x/../');
      case 'pct-dot':
        return known.replace(/\/(?=[^/]*$)/, '/%2e/');
      case 'slash2':
        return known.replace(/\/(?=[^/]*$)/, '//');
      case 'trailing':
        return `${known}/`;
      case 'upper':
        return known.toUpperCase();
      case 'pct2f':
        return known.replace(/\/(?=[^/]*$)/, '%2F');
      default:
        return ch === '/' ? known : `${known.slice(0, i)}%25${hex.slice(1)}${known.slice(i + 1)}`;
    }
  });
const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN) },
  { weight: 3, arbitrary: variantOf },
  {
    weight: 2,
    arbitrary: fc.string({ unit: pathChar, maxLength: 140 }).map((s) => `/admin/listeners/${s}`),
  },
  { weight: 2, arbitrary: fc.string({ unit: pathChar, maxLength: 40 }).map((s) => `/${s}`) },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
);

const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});
const headers = fc.record(
  {
    authorization: fc.oneof(
      fc.constant(AUTH.authorization),
      fc.constant('Bearer wrong'),
      headerValue,
      headerValue.map((v) => `Bearer ${v}`),
    ),
    'content-type': fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/problem+json',
      ),
      headerValue,
    ),
    'x-forwarded-for': fc.constantFrom('127.0.0.1', '10.0.0.1'),
  },
  { requiredKeys: [] },
);

const anyRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path,
  headers,
  body,
});

/** Authorised JSON POSTs to /admin/command with command-like bodies: where acceptance happens. */
const commandRequest = fc.record({
  method: fc.constant('POST'),
  path: fc.constant('/admin/command'),
  headers: fc.record({
    authorization: fc.constant(AUTH.authorization),
    'content-type': fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
      },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/jsonx', 'json') },
      { weight: 1, arbitrary: headerValue },
    ),
  }),
  body: fc.oneof(
    {
      weight: 6,
      arbitrary: commandish.map((v) => JSON.stringify(v) as string | Uint8Array | undefined),
    },
    { weight: 1, arbitrary: body },
  ),
});

/** Any request, or an authorised command: what the fuzz tests send. */
export const request: fc.Arbitrary<Req> = fc.oneof(anyRequest, commandRequest);

/** One generated request. */
export interface Req {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: string | Uint8Array | undefined;
}
