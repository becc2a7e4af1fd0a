/**
 * The page's data, as signals: the fleet, listeners and rates polled from the JSON routes, and the
 * actors' state values kept current by the tab's one inspection stream.
 */
import { batch, signal } from '@preact/signals';
import type { InstancesReport, ListenerReport } from '../../src/admin/reports.js';
import { api, auth, openInspectStream, type SseEvent } from './api';
import type { OwnershipChange } from './timeline-model';

/** `/admin/instances`, typed from the server's own report (type-only: nothing of src/ is bundled). */
export type Fleet = InstancesReport;

/** `/admin/listeners` entry. */
export type Listener = ListenerReport;

/** A live actor as the statechart view shows it. */
export interface Actor {
  /** The instance that runs it. */
  instance: string;
  id: string;
  kind: 'instance' | 'listener';
  value: unknown;
  status: string;
  context: Record<string, unknown>;
  /** False once `/admin/actors` stopped listing it (it keeps its last value). */
  present: boolean;
}

/** One line of an actor's event log. */
export interface LogLine {
  seq: number;
  /** The instance whose stream carried it. */
  instance: string;
  time: number;
  actorId: string;
  type: string;
  eventType?: string;
  value?: unknown;
}

/** `/admin/rates`. */
export interface Rates {
  interval_ms: number;
  series: string[];
  totals: Record<string, number> | null;
  points: Array<Record<string, number>>;
}

export const fleet = signal<Fleet | null>(null);
/** Wall-clock time of the last fleet answer, for the TTL countdowns. */
export const fleetAt = signal(0);
export const listeners = signal<Listener[]>([]);
/** Actors of every reachable instance, by `instance/actorId`. */
export const actors = signal<Map<string, Actor>>(new Map());
export const servingInstance = signal<string>('');
/** The instance whose inspection stream the tab follows ('' until the first answer). */
export const watched = signal<string>('');
export const eventLog = signal<LogLine[]>([]);
export const rates = signal<Rates | null>(null);
/** The newest entries of the ownership log (`/admin/ownership`), oldest first. */
export const ownership = signal<OwnershipChange[]>([]);
/** Sharded mode: listener id -> assigned instance (from `/admin/owners`), empty in single mode. */
export const assignedTo = signal<Map<string, string | null>>(new Map());
/** Wall-clock time (ms) this page first saw each listener orphaned (for the takeover countdown). */
export const orphanedSince = new Map<string, number>();
/** Ticks once a second so countdowns re-render. */
export const now = signal(Date.now());

const LOG_CAP = 500;
let seq = 0;

async function refreshFleet() {
  const a = await api('instances');
  if (a.status === 200) {
    batch(() => {
      fleet.value = a.body as Fleet;
      fleetAt.value = Date.now();
    });
  }
}

/** Re-reads `/admin/listeners` (also called after a command and on inspection events). */
export async function refreshListeners() {
  const a = await api('listeners');
  if (a.status === 200) listeners.value = (a.body as { listeners: Listener[] }).listeners;
}

/** This instance's actors, and those of every other instance that registered an admin address. */
async function refreshActors() {
  const self = await api('actors');
  if (self.status !== 200) return;
  const serving = (self.body as { instance_id: string }).instance_id;
  const peers = (fleet.value?.instances ?? []).filter(
    (i) => i.id !== serving && typeof i.meta?.admin_url === 'string',
  );
  const answers = [
    self,
    ...(await Promise.all(peers.map((p) => api(`instances/${encodeURIComponent(p.id)}/actors`)))),
  ];
  const next = new Map<string, Actor>();
  for (const old of actors.value.values())
    next.set(`${old.instance}/${old.id}`, { ...old, present: false });
  for (const a of answers) {
    if (a.status !== 200) continue;
    const body = a.body as { instance_id: string; actors: Omit<Actor, 'present' | 'instance'>[] };
    for (const x of body.actors)
      next.set(`${body.instance_id}/${x.id}`, { ...x, instance: body.instance_id, present: true });
  }
  batch(() => {
    servingInstance.value = serving;
    if (watched.value === '') watched.value = serving;
    actors.value = next;
  });
}

/** How many ownership changes the page reads (the timeline's depth). */
const OWNERSHIP_COUNT = 2000;

async function refreshOwnership() {
  const a = await api(`ownership?count=${OWNERSHIP_COUNT}`);
  if (a.status === 200) ownership.value = (a.body as { entries: OwnershipChange[] }).entries;
}

async function refreshOwners() {
  const a = await api('owners');
  if (a.status !== 200) return;
  const body = a.body as Record<string, { assigned_to?: string | null }>;
  const next = new Map<string, string | null>();
  for (const [id, o] of Object.entries(body))
    if ('assigned_to' in o) next.set(id, o.assigned_to ?? null);
  assignedTo.value = next;
}

async function refreshRates() {
  const a = await api('rates');
  if (a.status === 200) rates.value = a.body as Rates;
}

let listenersDue = false;

/** Applies one inspection record: root actors' values move, and every record joins the log. */
function onInspection(e: SseEvent) {
  if (e.event !== 'inspection') return;
  const r = JSON.parse(e.data) as Omit<LogLine, 'seq' | 'instance'>;
  seq += 1;
  const instance = streamOf;
  const line: LogLine = { seq, instance, ...r };
  const log = eventLog.value;
  eventLog.value = log.length >= LOG_CAP ? [...log.slice(1), line] : [...log, line];
  if (r.value !== undefined && !r.actorId.includes('/')) {
    const key = `${instance}/${r.actorId}`;
    const old = actors.value.get(key);
    const next = new Map(actors.value);
    next.set(key, {
      instance,
      id: r.actorId,
      kind: old?.kind ?? (r.actorId === 'instance' ? 'instance' : 'listener'),
      value: r.value,
      status: old?.status ?? 'active',
      context: old?.context ?? {},
      present: old?.present ?? true,
    });
    actors.value = next;
    listenersDue = true;
  }
}

let started = false;
let closeStream: (() => void) | null = null;
/** The instance the open stream belongs to. */
let streamOf = '';

/** (Re)opens the tab's one stream on the watched instance, directly or through the fan-out. */
function follow() {
  const target = watched.value;
  if (target === '' || (closeStream !== null && streamOf === target)) return;
  closeStream?.();
  streamOf = target;
  const path =
    target === servingInstance.value
      ? 'inspect'
      : `instances/${encodeURIComponent(target)}/inspect`;
  closeStream = openInspectStream(path, onInspection);
}

/** Makes the tab's stream follow `instance` (the statechart's chosen actor runs there). */
export function watch(instance: string) {
  watched.value = instance;
  if (auth.value === 'ok') follow();
}

/** Starts polling (and, once authorised, the tab's one inspection stream). Idempotent. */
export function start() {
  if (started) return;
  started = true;
  const tick = async () => {
    await refreshFleet();
    if (auth.value !== 'ok') return;
    await Promise.all([
      refreshListeners(),
      refreshActors(),
      refreshRates(),
      refreshOwners(),
      refreshOwnership(),
    ]);
    // The stream waits for a working token: a refused stream would retry for nothing.
    follow();
  };
  void tick();
  setInterval(() => void tick(), 1000);
  setInterval(() => {
    now.value = Date.now();
    if (listenersDue) {
      listenersDue = false;
      void refreshListeners();
    }
  }, 250);
}

/** Forces an immediate refresh (after the token was entered or a command was sent). */
export async function refreshAll() {
  await refreshFleet();
  if (auth.value === 'ok')
    await Promise.all([refreshListeners(), refreshActors(), refreshOwners(), refreshOwnership()]);
  if (auth.value === 'ok') follow();
}
