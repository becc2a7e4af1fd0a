/**
 * The simulator's command line: parsing into run options, and the reverse, a one-line command
 * that reproduces one seed exactly.
 */
import { isPlantedBug, type PlantedBugName } from './bugs.js';
import { FAULT_TYPES, type FaultType, STANDARD } from './scenario.js';

export interface CliOptions {
  /** First seed, and how many seeds from it. */
  from: number;
  seeds: number;
  /** True when one seed was asked for (--seed): print its details. */
  single: boolean;
  minutes: number;
  instances: number;
  listeners: number;
  faults: FaultType[];
  bugs: PlantedBugName[];
  mode: 'overlap' | 'sequential' | undefined;
  /** OWNERSHIP of every simulated process (default single). */
  ownership: 'single' | 'sharded' | undefined;
  exact: boolean;
  jobs: number;
  /** Stop at the first failure. */
  failFast: boolean;
  /** Trace lines printed for a failing seed. */
  traceLines: number;
  /** `--trace-out FILE`: write the seed's inspection records there as JSON lines (one seed). */
  traceOut: string | null;
  /** Set in a forked worker: it runs the seeds whose index is `index` modulo `count`. */
  worker: { index: number; count: number } | null;
}

export const USAGE = `usage: npm run sim -- [--seed S | --seeds N [--from F]] [--minutes M] [--instances I]
       [--listeners L] [--faults a,b,...|none] [--bug name,...] [--mode overlap|sequential]
       [--ownership single|sharded] [--exact] [--jobs J] [--fail-fast] [--trace LINES]
       [--trace-out FILE]
faults: ${FAULT_TYPES.join(', ')}`;

function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}`);
  return n;
}

/** Parses argv (after the script name). Throws with a one-line message on bad input. */
export function parseArgs(argv: readonly string[], cpus: number): CliOptions {
  const o: CliOptions = {
    from: 1,
    seeds: 1,
    single: false,
    minutes: STANDARD.minutes,
    instances: STANDARD.instances,
    listeners: STANDARD.listeners,
    faults: [...FAULT_TYPES],
    bugs: [],
    mode: undefined,
    ownership: undefined,
    exact: false,
    jobs: Math.max(1, cpus),
    failFast: false,
    traceLines: 40,
    traceOut: null,
    worker: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--seed':
        o.from = int(flag, value(), 0);
        o.seeds = 1;
        o.single = true;
        break;
      case '--seeds':
        o.seeds = int(flag, value(), 1);
        break;
      case '--from':
        o.from = int(flag, value(), 0);
        break;
      case '--minutes':
        o.minutes = Number(value());
        if (!(o.minutes > 0)) throw new Error('--minutes must be > 0');
        break;
      case '--instances':
        o.instances = int(flag, value(), 1);
        break;
      case '--listeners':
        o.listeners = int(flag, value(), 1);
        break;
      case '--faults': {
        const v = value();
        const list = v === 'none' ? [] : v.split(',');
        const bad = list.find((f) => !(FAULT_TYPES as readonly string[]).includes(f));
        if (bad) throw new Error(`unknown fault "${bad}"`);
        o.faults = list as FaultType[];
        break;
      }
      case '--bug': {
        const list = value().split(',');
        const bad = list.find((b) => !isPlantedBug(b));
        if (bad) throw new Error(`unknown planted bug "${bad}"`);
        o.bugs = list as PlantedBugName[];
        break;
      }
      case '--mode': {
        const v = value();
        if (v !== 'overlap' && v !== 'sequential') throw new Error('--mode: overlap|sequential');
        o.mode = v;
        break;
      }
      case '--ownership': {
        const v = value();
        if (v !== 'single' && v !== 'sharded') throw new Error('--ownership: single|sharded');
        o.ownership = v;
        break;
      }
      case '--exact':
        o.exact = true;
        break;
      case '--jobs':
        o.jobs = int(flag, value(), 1);
        break;
      case '--trace':
        o.traceLines = int(flag, value(), 0);
        break;
      case '--trace-out':
        o.traceOut = value();
        break;
      case '--fail-fast':
        o.failFast = true;
        break;
      case '--worker': {
        const [index, count] = value().split('/').map(Number);
        o.worker = { index: index!, count: count! };
        break;
      }
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  if (o.traceOut !== null && o.seeds !== 1)
    throw new Error('--trace-out records one seed (--seed S)');
  return o;
}

/** The command that replays exactly `seed` under `o`. */
export function reproCommand(o: CliOptions, seed: number): string {
  const parts = ['npm run sim --', `--seed ${seed}`];
  parts.push(`--minutes ${o.minutes}`, `--instances ${o.instances}`, `--listeners ${o.listeners}`);
  if (o.faults.length !== FAULT_TYPES.length)
    parts.push(`--faults ${o.faults.join(',') || 'none'}`);
  if (o.bugs.length > 0) parts.push(`--bug ${o.bugs.join(',')}`);
  if (o.mode) parts.push(`--mode ${o.mode}`);
  if (o.ownership) parts.push(`--ownership ${o.ownership}`);
  if (o.exact) parts.push('--exact');
  return parts.join(' ');
}
