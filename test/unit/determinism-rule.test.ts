/**
 * The determinism rule (DESIGN.md): real time, randomness and timers enter only through the
 * modules that implement the Clock / Rng interfaces, so the simulator can drive everything else.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
/** The only files allowed to touch real time and randomness. */
const ALLOWED = new Set(['src/clock.ts', 'src/rng.ts', 'sim/wall-time.ts']);
const FORBIDDEN =
  /\b(?:Date\.now|Math\.random|performance\.now)\s*\(|(?<![.\w])(?:setTimeout|setInterval|setImmediate)\s*\(|new Date\(\s*\)/;

function sources(dir: string): string[] {
  let out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Lines that break the rule, ignoring comments. */
function violations(text: string): string[] {
  return text
    .split('\n')
    .map((line, i) => ({ line: line.replace(/\/\*.*?\*\//g, '').replace(/\/\/.*$/, ''), n: i + 1 }))
    .filter(({ line }) => !/^\s*(\*|\/\*)/.test(line) && FORBIDDEN.test(line))
    .map(({ line, n }) => `${n}: ${line.trim()}`);
}

describe('determinism rule', () => {
  it('the pattern catches each forbidden call and lets injected ones through', () => {
    expect(violations('const t = Date.now();')).toHaveLength(1);
    expect(violations('x = Math.random() * 2')).toHaveLength(1);
    expect(violations('setTimeout(fn, 10)')).toHaveLength(1);
    expect(violations('const id = setInterval(f, 5);')).toHaveLength(1);
    expect(violations('performance.now()')).toHaveLength(1);
    expect(violations('new Date()')).toHaveLength(1);
    expect(violations('clock.schedule(fn, 10); clock.now();')).toHaveLength(0);
    expect(violations('// Date.now() is forbidden here')).toHaveLength(0);
    expect(violations('/** like Date.now(). */')).toHaveLength(0);
    expect(violations('const t = Date.now(); /* note */')).toHaveLength(1);
  });

  it('holds in src/, machines/ and sim/', () => {
    const found: string[] = [];
    for (const dir of ['src', 'machines', 'sim']) {
      for (const file of sources(join(root, dir))) {
        const rel = relative(root, file);
        if (ALLOWED.has(rel)) continue;
        for (const v of violations(readFileSync(file, 'utf8'))) found.push(`${rel}:${v}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('machines import no I/O: only xstate', () => {
    for (const file of sources(join(root, 'machines'))) {
      const imports = [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(
        imports.every((m) => m === 'xstate' || m?.startsWith('./')),
        relative(root, file),
      ).toBe(true);
    }
  });
});
