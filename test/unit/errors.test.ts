import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { ERROR_STATUS } from '../../src/http/errors.js';

describe('error codes', () => {
  it('match the documented table in docs/api.md, code for code and status for status', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map(
      (m) => [m[1], Number(m[2])] as const,
    );
    expect(documented.length).toBeGreaterThan(0);
    expect(Object.fromEntries(documented)).toEqual({ ...ERROR_STATUS });
    expect([...ERROR_CODES].sort()).toEqual(documented.map(([code]) => code).sort());
  });
});
