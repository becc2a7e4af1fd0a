/**
 * Reads the message id (one top-level field of a JSON object) without building the object: one
 * validating pass over the text that allocates nothing but the id itself. It answers exactly what
 * `messageIdByParse` (JSON.parse, then the field) answers: the whole text must be valid JSON (an
 * invalid document has no id), only top-level keys match (decoded, so `"i\u0064"` is `id`), the
 * last duplicate wins as in JSON.parse, and a value is an id when it is a non-empty string or a
 * finite number (rendered as `String(number)`). Nesting deeper than MAX_DEPTH answers `undefined`:
 * the caller falls back to JSON.parse rather than this scanner growing a stack.
 */

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** Containers nested inside the top-level object that the scanner tracks before it gives up. */
export const MAX_DEPTH = 256;
const INVALID = -1;
const TOO_DEEP = -2;

/** Open containers below the top level, by their closing bracket; reused (the scan is synchronous). */
const stack = new Uint8Array(MAX_DEPTH);
/** Whether the string that `scanString` last passed over held a backslash escape. */
let lastEscaped = false;

/** What the matched field's (last) value was. */
const NONE = 0;
const STRING = 1;
const NUMBER = 2;
const OTHER = 3;

/**
 * The id of `text` as `messageIdByParse` reads it: the top-level `field` when it is a non-empty
 * string or a finite number, else ''; `undefined` when the scanner is not sure (too deep).
 */
export function scanMessageId(text: string, field: string): string | undefined {
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== LBRACE) return '';
  i = skipWs(text, i + 1);
  let kind = NONE;
  let start = 0;
  let end = 0;
  let escaped = false;
  if (text.charCodeAt(i) === RBRACE) i++;
  else {
    for (;;) {
      if (text.charCodeAt(i) !== QUOTE) return '';
      const keyStart = i;
      i = scanString(text, i);
      if (i < 0) return '';
      const match = keyIs(text, keyStart, i, lastEscaped, field);
      i = skipWs(text, i);
      if (text.charCodeAt(i) !== COLON) return '';
      i = skipWs(text, i + 1);
      const valueStart = i;
      i = scanValue(text, i);
      if (i === TOO_DEEP) return undefined;
      if (i < 0) return '';
      if (match) {
        kind = valueKind(text.charCodeAt(valueStart));
        start = valueStart;
        end = i;
        escaped = lastEscaped; // meaningful for a string value only: its scan was the last one
      }
      i = skipWs(text, i);
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i = skipWs(text, i + 1);
        continue;
      }
      if (c !== RBRACE) return '';
      i++;
      break;
    }
  }
  if (skipWs(text, i) !== text.length) return '';
  return idOf(text, kind, start, end, escaped);
}

/** The id a matched value gives, by the rules of the module comment. */
function idOf(text: string, kind: number, start: number, end: number, escaped: boolean): string {
  if (kind === STRING) {
    // A string with escapes is decoded by JSON.parse itself: it is valid, and rare.
    return escaped
      ? (JSON.parse(text.slice(start, end)) as string)
      : text.slice(start + 1, end - 1);
  }
  if (kind === NUMBER) {
    const value = Number(text.slice(start, end));
    return Number.isFinite(value) ? String(value) : '';
  }
  return '';
}

function valueKind(c: number): number {
  if (c === QUOTE) return STRING;
  if (c === MINUS || (c >= ZERO && c <= NINE)) return NUMBER;
  return OTHER;
}

/** Whether the key string text[start, end) (quotes included) decodes to `field`. */
function keyIs(text: string, start: number, end: number, escaped: boolean, field: string): boolean {
  if (!escaped) return end - start - 2 === field.length && text.startsWith(field, start + 1);
  return JSON.parse(text.slice(start, end)) === field;
}

/** The index of the first character at or after `i` that is not JSON whitespace. */
function skipWs(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === SPACE || c === LF || c === CR || c === TAB) c = text.charCodeAt(++i);
  return i;
}

/**
 * Passes over one JSON value starting at `i` (any nesting, without recursion): the index after
 * it, INVALID, or TOO_DEEP.
 */
function scanValue(text: string, i: number): number {
  let depth = 0;
  let close = 0; // the closing bracket of the innermost open container
  for (;;) {
    let c = text.charCodeAt(i);
    if (c <= SPACE) {
      // whitespace is rare between tokens of machine-written JSON: test before calling
      i = skipWs(text, i);
      c = text.charCodeAt(i);
    }
    if (c === QUOTE) i = scanString(text, i);
    else if (c === MINUS || (c >= ZERO && c <= NINE)) i = scanNumber(text, i);
    else if (c === LBRACE || c === LBRACKET) {
      i = skipWs(text, i + 1);
      const end = c === LBRACE ? RBRACE : RBRACKET;
      if (text.charCodeAt(i) === end) i++;
      else {
        if (depth === MAX_DEPTH) return TOO_DEEP;
        stack[depth++] = end;
        close = end;
        if (c === LBRACE) i = memberKey(text, i);
        if (i < 0) return INVALID;
        continue;
      }
    } else if (c === 0x74) i = text.startsWith('true', i) ? i + 4 : INVALID;
    else if (c === 0x66) i = text.startsWith('false', i) ? i + 5 : INVALID;
    else if (c === 0x6e) i = text.startsWith('null', i) ? i + 4 : INVALID;
    else return INVALID;
    if (i < 0) return INVALID;
    // After a value: close the containers it ends, or move on to the next element or member.
    for (;;) {
      if (depth === 0) return i;
      let next = text.charCodeAt(i);
      if (next <= SPACE) {
        i = skipWs(text, i);
        next = text.charCodeAt(i);
      }
      if (next === COMMA) {
        i++;
        if (close === RBRACE) {
          i = memberKey(text, skipWs(text, i));
          if (i < 0) return INVALID;
        }
        break;
      }
      if (next !== close) return INVALID;
      depth--;
      close = depth > 0 ? stack[depth - 1]! : 0;
      i++;
    }
  }
}

/** Passes over `"key"` and `:` of a nested member at `i`: the index after the colon, or INVALID. */
function memberKey(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return INVALID;
  i = scanString(text, i);
  if (i < 0) return INVALID;
  i = skipWs(text, i);
  return text.charCodeAt(i) === COLON ? i + 1 : INVALID;
}

/** A run of characters that need no escape (long runs are left to the regex engine: faster). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids exactly these raw in a string
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;
/** Characters passed over by hand before a string's rest goes to PLAIN_RUN (keys are short). */
const BY_HAND = 16;

/** Passes over the string whose opening quote is at `i`: the index after its closing quote. */
function scanString(text: string, i: number): number {
  lastEscaped = false;
  i++;
  for (;;) {
    let c = text.charCodeAt(i);
    let k = 0;
    while (c > QUOTE && c !== BACKSLASH && k < BY_HAND) {
      c = text.charCodeAt(++i);
      k++;
    }
    if (k === BY_HAND) {
      PLAIN_RUN.lastIndex = i;
      PLAIN_RUN.test(text);
      i = PLAIN_RUN.lastIndex;
      c = text.charCodeAt(i);
    }
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      lastEscaped = true;
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        // \uXXXX: exactly four hex digits (lone surrogates are valid JSON text, as in JSON.parse)
        if (!(isHex(text, i + 2) && isHex(text, i + 3) && isHex(text, i + 4) && isHex(text, i + 5)))
          return INVALID;
        i += 6;
      } else if (isSimpleEscape(e)) i += 2;
      else return INVALID;
    } else if (c === SPACE || c === 0x21) i++;
    else return INVALID; // a control character, or the text ended inside the string
  }
}

/** `"`, `\`, `/`, b, f, n, r, t. */
function isSimpleEscape(e: number): boolean {
  return (
    e === QUOTE ||
    e === BACKSLASH ||
    e === 0x2f ||
    e === 0x62 ||
    e === 0x66 ||
    e === 0x6e ||
    e === 0x72 ||
    e === 0x74
  );
}

function isHex(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  const lower = c | 0x20; // folds A-F onto a-f (only letters: digits are tested unfolded)
  return (c >= ZERO && c <= NINE) || (lower >= 0x61 && lower <= 0x66);
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** Passes over a number at `i` by JSON's grammar: the index after it, or INVALID. */
function scanNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === MINUS) i++;
  let c = text.charCodeAt(i);
  if (c === ZERO) c = text.charCodeAt(++i);
  else if (c > ZERO && c <= NINE) {
    do c = text.charCodeAt(++i);
    while (isDigit(c));
  } else return INVALID;
  if (c === DOT) {
    if (!isDigit(text.charCodeAt(++i))) return INVALID;
    do c = text.charCodeAt(++i);
    while (isDigit(c));
  }
  if (c === 0x65 || c === 0x45) {
    c = text.charCodeAt(++i);
    if (c === 0x2b || c === MINUS) c = text.charCodeAt(++i);
    if (!isDigit(c)) return INVALID;
    do c = text.charCodeAt(++i);
    while (isDigit(c));
  }
  return i;
}
