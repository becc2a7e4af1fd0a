/**
 * Upstream URL templates: how a listener's URL is built from UPSTREAM_URL, and how any URL is cut
 * down before it may appear in a log line or an error. Every module builds and redacts upstream
 * URLs through these, so a token cannot leak through one that does it differently.
 */

/**
 * Substitutes `{token}` and `{listener_id}` (every occurrence, URL-encoded) into an upstream URL
 * template. The result contains the token: never log it, use `redactUrl`.
 */
export function upstreamUrlFor(template: string, listenerId: string, token: string): string {
  return template
    .replaceAll('{token}', () => encodeURIComponent(token))
    .replaceAll('{listener_id}', () => encodeURIComponent(listenerId));
}

/**
 * A loggable form of a URL: userinfo and fragment removed, every query value replaced by `***`,
 * and every occurrence of each of `secrets` (raw or URL-encoded) replaced by `***`. The path is
 * kept, so when a template puts the token in the path, pass the token in `secrets` (the connector
 * does). Returns `<invalid url>` for a string that is not a URL.
 */
export function redactUrl(url: string, secrets: readonly string[] = []): string {
  const input = redactSecrets(url, secrets);
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    return '<invalid url>';
  }
  const query = parsed.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      // A bare `?abc` parameter may itself be a secret.
      return eq < 0 ? '***' : `${pair.slice(0, eq)}=***`;
    });
  const host = parsed.host;
  const out = `${parsed.protocol}//${host}${parsed.pathname}${query.length ? `?${query.join('&')}` : ''}`;
  return redactSecrets(out, secrets);
}

/** Replaces every occurrence of each non-empty secret (raw and URL-encoded forms) by `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    const forms = new Set([secret, encodeURIComponent(secret), encodeURI(secret)]);
    for (const form of forms) out = out.split(form).join('***');
  }
  return out;
}
