import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Readiness } from '../../src/runtime/readiness.js';

describe('Readiness', () => {
  it('not ready before the first registration', () => {
    const r = new Readiness(new ManualClock(), 8_000);
    expect(r.reason()).toMatch(/not registered/);
  });

  it('ages out at 3/4 of the TTL after the last success was sent, before the entry can expire', () => {
    const clock = new ManualClock();
    const r = new Readiness(clock, 8_000);
    const sentAt = clock.now();
    clock.advance(40); // the reply arrives later; the entry's TTL started after sentAt
    r.succeeded(sentAt);
    expect(r.reason()).toBeNull();
    clock.advance(6_000 - 40);
    expect(r.reason()).toBeNull();
    clock.advance(1);
    expect(r.reason()).toMatch(/^no successful heartbeat for 6001 ms \(limit 6000 ms\)/);
  });

  it('a failure ends readiness at once; the next success restores it', () => {
    const clock = new ManualClock();
    const r = new Readiness(clock, 8_000);
    r.succeeded(clock.now());
    r.lost();
    expect(r.reason()).toMatch(/last heartbeat to the store failed/);
    clock.advance(100);
    r.succeeded(clock.now());
    expect(r.reason()).toBeNull();
  });

  it('a late reply of an older heartbeat does not move the last success back', () => {
    const clock = new ManualClock();
    const r = new Readiness(clock, 8_000);
    const older = clock.now();
    clock.advance(1_000);
    r.succeeded(clock.now());
    r.succeeded(older);
    clock.advance(6_000);
    expect(r.reason()).toBeNull();
  });
});
