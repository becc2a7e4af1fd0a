/**
 * The output side of a listener: which part of an upstream message identifies it for dedup.
 * The emit itself is the store's fenced, deduplicated `emit` (see ListenerLink's pump).
 */

/**
 * The message id of an upstream text message: the top-level JSON field `field` when it is a
 * non-empty string or a finite number, else '' (emitted without dedup and counted as no_id).
 */
export function messageIdOf(text: string, field: string): string {
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
  if (typeof value === 'string') return value.slice(0, 512);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return '';
}
