/**
 * The output side of a listener: which part of an upstream message identifies it for dedup.
 * The emit itself is the store's fenced, deduplicated `emit` (see ListenerLink's pump).
 */

import type { RunMessage } from '../store/client.js';
import { scanMessageId } from './msgid-scan.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A text frame as a message to emit: the text as its payload, its id for dedup. */
export function textMessage(text: string, field: string): RunMessage {
  return { msgId: messageIdOf(text, field), payload: text };
}

/** A binary frame as a message to emit: its exact bytes base64-encoded, with `encoding`. */
export function binaryMessage(bytes: Uint8Array, field: string): RunMessage {
  const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    msgId: binaryMessageIdOf(bytes, field),
    payload: payload.toString('base64'),
    encoding: 'base64',
  };
}

/**
 * The message id of a binary frame: that of its bytes read as JSON text when they are valid
 * UTF-8 (upstreams that send JSON in binary frames exist), else ''. Only the id is read this way:
 * the payload is emitted as the exact bytes.
 */
export function binaryMessageIdOf(bytes: Uint8Array, field: string): string {
  // Cheap pre-check on the raw bytes first, as for text: '{' after optional ASCII whitespace.
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || (bytes[i]! >= 0x09 && bytes[i]! <= 0x0d))) i++;
  if (bytes[i] !== 0x7b) return '';
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return '';
  }
  return messageIdOf(text, field);
}

/**
 * The message id of an upstream text message: the top-level JSON field `field` when it is a
 * non-empty string or a finite number, else '' (emitted without dedup and counted as no_id).
 * Never truncated: ids that differ only in their last character are different messages. Read by
 * a single-pass scanner (msgid-scan.ts) that agrees with `messageIdByParse` on every input, and
 * by that where the scanner is not sure.
 */
export function messageIdOf(text: string, field: string): string {
  return scanMessageId(text, field) ?? messageIdByParse(text, field);
}

/** The definition of `messageIdOf`, by JSON.parse (the scanner's fallback and its oracle in tests). */
export function messageIdByParse(text: string, field: string): string {
  // Cheap pre-check: most non-JSON payloads are rejected without a parse.
  if (text.trimStart()[0] !== '{') return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return '';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return '';
  const value = (parsed as Record<string, unknown>)[field];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return '';
}
