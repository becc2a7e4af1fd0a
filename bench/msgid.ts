/**
 * `npm run bench:msgid [-- --rounds 7 --ms 150]`: CPU nanoseconds per message to read the message
 * id with the single-pass scanner (`messageIdOf`) and with JSON.parse (`messageIdByParse`), on
 * small (~100 B), medium (~1 KiB) and large (~16 KiB) payloads, with the id first and last.
 * Rounds alternate the two in the same process; the table gives each one's median over rounds
 * and the ratio. Figures only, no assertion (the box is shared: quote the load average).
 */
import { parseArgs } from 'node:util';
import { messageIdByParse, messageIdOf } from '../src/runtime/sink.js';
import { loadavg } from './support.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, ms: { type: 'string', default: '150' } },
});
const ROUNDS = Number(values.rounds);
const ROUND_MS = Number(values.ms);

/** One trade-like record: strings, numbers, a nested object and an escaped string. */
function item(n: number) {
  return {
    sym: `SYM${n % 97}`,
    px: 100 + n / 7,
    qty: n * 3,
    side: n % 2 ? 'buy' : 'sell',
    meta: { venue: 'X', tags: ['a', 'b'], note: 'say "hi"\tok' },
  };
}

/** A JSON message of about `bytes` bytes, its id as the first or the last top-level field. */
function payload(bytes: number, idLast: boolean): string {
  const items: ReturnType<typeof item>[] = [];
  let n = 0;
  const body = () => ({ type: 'trade', ts: 1_733_100_000_000, items });
  while (JSON.stringify(body()).length < bytes - 30) items.push(item(n++));
  if (bytes < 200) items.length = 0;
  const base = bytes < 200 ? { type: 'trade', ts: 1_733_100_000_000, px: 101.25, qty: 7 } : body();
  const id = 'evt-0000123456';
  return JSON.stringify(idLast ? { ...base, note: 'n', id } : { id, ...base, note: 'n' });
}

type Reader = (text: string, field: string) => string;

/** CPU ns per call of `read` over `text`, measured for about ROUND_MS of wall time. */
function measure(read: Reader, text: string): number {
  let calls = 0;
  let sink = 0;
  const wallEnd = performance.now() + ROUND_MS;
  const cpu0 = process.cpuUsage();
  while (performance.now() < wallEnd) {
    for (let k = 0; k < 100; k++) sink += read(text, 'id').length;
    calls += 100;
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink === 0) throw new Error('no id read');
  return ((cpu.user + cpu.system) * 1000) / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const cases = [
  ['small', 100],
  ['medium', 1024],
  ['large', 16 * 1024],
] as const;

const loadAtStart = loadavg();
console.log(`bench:msgid  ${ROUNDS} rounds x ${ROUND_MS} ms per reader and payload`);
console.log('payload            bytes   scanner ns/msg   JSON.parse ns/msg   scanner/parse');
for (const [name, bytes] of cases) {
  for (const idLast of [false, true]) {
    const text = payload(bytes, idLast);
    if (messageIdOf(text, 'id') !== messageIdByParse(text, 'id')) throw new Error('disagree');
    measure(messageIdOf, text); // warm both up before the measured rounds
    measure(messageIdByParse, text);
    const scan: number[] = [];
    const parse: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      scan.push(measure(messageIdOf, text));
      parse.push(measure(messageIdByParse, text));
    }
    const s = median(scan);
    const p = median(parse);
    const label = `${name}${idLast ? ' (id last)' : ''}`;
    console.log(
      `${label.padEnd(18)}${String(text.length).padStart(5)}${s.toFixed(0).padStart(17)}${p.toFixed(0).padStart(20)}${(s / p).toFixed(2).padStart(16)}`,
    );
  }
}
console.log(`load average ${loadAtStart} at start, ${loadavg()} at end`);
