import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import {
  CENSOR,
  createLogger,
  LOG_EVENTS,
  prettyLine,
  scrubUrls,
  silentLogger,
} from '../../src/log.js';

const TOKEN = 'tok_9f8e7d6c5b4a';

/** A logger writing into an array, one parsed JSON object per line. */
function memoryLogger(level: 'info' | 'debug' = 'info', clock?: ManualClock) {
  const chunks: string[] = [];
  const destination = { write: (s: string) => void chunks.push(s) };
  const logger = createLogger({ level, instanceId: 'inst-1', destination, clock });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, text, lines };
}

describe('createLogger', () => {
  it('writes JSON lines with instance_id, level label and the event field', () => {
    const clock = new ManualClock(1234);
    const { logger, lines } = memoryLogger('info', clock);
    logger.info({ event: LOG_EVENTS.listenerLive, listener_id: 'L1' }, 'live');
    logger.debug({ event: 'hidden' }, 'below level');
    expect(lines()).toEqual([
      {
        level: 'info',
        time: 1234,
        instance_id: 'inst-1',
        event: 'listener.live',
        listener_id: 'L1',
        msg: 'live',
      },
    ]);
  });

  it('censors secret-named fields at any depth, in arrays and in child bindings', () => {
    const { logger, text, lines } = memoryLogger();
    logger.info(
      {
        token: TOKEN,
        sxtToken: TOKEN,
        body: { sxtToken: TOKEN, nested: { deeper: { deepest: { authorization: TOKEN } } } },
        list: [{ password: TOKEN }, { fine: 'ok' }],
        headers: { authorization: `Bearer ${TOKEN}` },
      },
      'command',
    );
    logger.child({ token: TOKEN, req: { headers: { authorization: TOKEN } } }).info('child');
    expect(text()).not.toContain(TOKEN);
    const [first, second] = lines();
    expect(first?.token).toBe(CENSOR);
    expect(first?.list).toEqual([{ password: CENSOR }, { fine: 'ok' }]);
    expect(second?.token).toBe(CENSOR);
  });

  it('does not mutate the logged object', () => {
    const { logger } = memoryLogger();
    const obj = { token: TOKEN, inner: { password: TOKEN } };
    logger.info(obj, 'x');
    expect(obj).toEqual({ token: TOKEN, inner: { password: TOKEN } });
  });

  it('never lets an error carry a URL with the token (message, stack, cause, fields)', () => {
    const { logger, text, lines } = memoryLogger();
    const url = `wss://feed.example.com/stream/${TOKEN}?token=${TOKEN}`;
    const cause = new Error(`Invalid URL: ${url}`);
    const err = Object.assign(new Error(`connect to ${url} failed`, { cause }), {
      address: url,
      token: TOKEN,
    });
    logger.error({ err }, 'failed');
    logger.error(err);
    logger.error({ err });
    logger.warn({ detail: { error: err } }, 'nested');
    logger.warn(`message text with ${url}`);
    expect(text()).not.toContain(TOKEN);
    const first = lines()[0] as { err: { message: string; type: string } };
    expect(first.err.type).toBe('Error');
    expect(first.err.message).toContain('wss://feed.example.com/…');
  });

  it('keeps a handled circular structure from throwing', () => {
    const { logger, text } = memoryLogger();
    const a: Record<string, unknown> = { token: TOKEN };
    a.self = a;
    logger.info({ a }, 'circular');
    expect(text()).toContain('[Circular]');
    expect(text()).not.toContain(TOKEN);
  });

  it('does not call an object referenced twice circular', () => {
    const { logger, lines } = memoryLogger();
    const shared = { n: 1 };
    logger.info({ from: shared, to: shared }, 'twice');
    expect(lines()[0]).toMatchObject({ from: { n: 1 }, to: { n: 1 } });
  });

  it('silentLogger writes nothing and accepts every call', () => {
    const log = silentLogger();
    expect(log.level).toBe('silent');
    log.error({ token: TOKEN }, 'nothing');
  });
});

describe('scrubUrls', () => {
  it('keeps only scheme and host of every URL in free text', () => {
    expect(scrubUrls(`a wss://u:p@h:1/x/${TOKEN}?t=${TOKEN} b http://h2 c`)).toBe(
      'a wss://h:1/… b http://h2 c',
    );
    expect(scrubUrls('no url here')).toBe('no url here');
  });
});

describe('LOG_EVENTS', () => {
  it('lists the stable event names', () => {
    expect(Object.values(LOG_EVENTS)).toEqual(
      expect.arrayContaining([
        'lock.acquired',
        'lock.renew_failed',
        'lock.step_down',
        'lock.released',
        'instance.registered',
        'listener.claimed',
        'listener.connecting',
        'listener.live',
        'listener.backoff',
        'listener.stopped',
        'listener.takeover',
        'listener.handoff',
        'reconcile.run',
        'drain.start',
        'drain.done',
        'demo.mode',
        'server.listening',
      ]),
    );
  });
});

describe('LOG_FORMAT=pretty', () => {
  function prettyLogger() {
    const chunks: string[] = [];
    const destination = { write: (s: string) => void chunks.push(s) };
    const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const logger = createLogger({
      level: 'info',
      instanceId: 'i1',
      destination,
      clock,
      format: 'pretty',
    });
    return { logger, text: () => chunks.join('') };
  }

  it('writes one readable line per entry: time, level, event, message, then key=value', () => {
    const { logger, text } = prettyLogger();
    logger.info(
      { event: LOG_EVENTS.listenerLive, listener_id: 'demo-1', fence: 2 },
      'listener live',
    );
    logger.warn({ detail: { a: 1 }, note: 'two words' }, 'careful');
    expect(text()).toBe(
      '03:04:05.678 INFO  listener.live listener live listener_id=demo-1 fence=2\n' +
        '03:04:05.678 WARN  careful detail={"a":1} note="two words"\n',
    );
  });

  it("keeps the JSON format's protections: secret fields censored, URLs scrubbed", () => {
    const { logger, text } = prettyLogger();
    logger.info({ sxtToken: TOKEN }, `connecting to wss://feed.example/ws?token=${TOKEN}`);
    expect(text()).not.toContain(TOKEN);
    expect(text()).toContain(`sxtToken=${CENSOR}`);
  });

  it('passes a line that is not a JSON object through unchanged', () => {
    expect(prettyLine('plain text')).toBe('plain text');
    expect(prettyLine('[1,2]')).toBe('[1,2]');
  });

  it('LOG_FORMAT is a config variable: json, pretty, or unset (TTY decides); anything else fails', () => {
    const id = { pid: 1, now: 2 };
    expect(loadConfig({}, id).log.format).toBeUndefined();
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, id).log.format).toBe('pretty');
    expect(loadConfig({ LOG_FORMAT: 'json' }, id).log.format).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'yaml' }, id)).toThrow(
      /^LOG_FORMAT must be "json" or "pretty"/,
    );
  });
});
