/**
 * The spec table (src/store/spec.ts) and the Lua scripts agree: every script lists its refusal
 * codes in its header in the order the spec declares the checks, with the numbers refusals.ts
 * decodes; a script the spec does not list declares that it never refuses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCRIPTS } from '../../src/store/redis-scripts.js';
import { LuaCode } from '../../src/store/refusals.js';
import { storeSpec } from '../../src/store/spec.js';

const dir = new URL('../../src/store/lua/', import.meta.url);

/** The `--[[ ... ]]` header of `<script>-<numKeys>.lua`. */
function header(script: string): string {
  const file = readdirSync(dir).find((f) => new RegExp(`^${script}-(\\d+|n)\\.lua$`).test(f));
  if (!file) throw new Error(`no Lua file for ${script}`);
  const text = readFileSync(new URL(file, dir), 'utf8');
  return text.slice(text.indexOf('--[['), text.indexOf(']]'));
}

/** The refusals a header lists, in order: `-N  NAME:` or `{-N, ...}  NAME:` lines. */
function listedRefusals(text: string): { code: number; name: string }[] {
  const out: { code: number; name: string }[] = [];
  for (const m of text.matchAll(/^\s+\{?(-\d+)[,}\s][^\n]*?\b([A-Z][A-Z_]+):/gm)) {
    out.push({ code: Number(m[1]), name: m[2]! });
  }
  return out;
}

describe('the spec and the Lua script headers', () => {
  const specified = new Map<string, string>(
    Object.entries(storeSpec).map(([op, spec]) => [spec.script, op]),
  );

  for (const [op, spec] of Object.entries(storeSpec)) {
    it(`${spec.script} lists the refusals of ${op} in the declared order`, () => {
      const listed = listedRefusals(header(spec.script));
      expect(listed.map((r) => r.name)).toEqual(spec.checks.map((c) => c.code));
      for (const r of listed) expect(r.code).toBe(LuaCode[r.name as keyof typeof LuaCode]);
    });
  }

  for (const script of SCRIPTS.filter((s) => !specified.has(s))) {
    it(`${script} declares that it never refuses`, () => {
      const text = header(script);
      expect(text).toContain('Refusals: none.');
      expect(listedRefusals(text)).toEqual([]);
    });
  }

  it('names only scripts RedisStore loads', () => {
    for (const script of specified.keys()) expect(SCRIPTS).toContain(script);
  });
});
