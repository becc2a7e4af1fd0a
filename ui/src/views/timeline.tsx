/**
 * Ownership timeline view: per listener, one lane per fence (ordered by fence) on a shared time
 * axis: which instance owned it from when to when, overlaps between two owners in red, gaps
 * (nobody owned it) in amber with their length. The rules that turn the log into segments are in
 * `timeline-model.ts`. The live view reads `/admin/ownership`; the replay view passes a trace's
 * ownership records cut at its scrubber.
 */
import { signal } from '@preact/signals';
import { now, ownership } from '../state';
import {
  buildTimelines,
  duration,
  type ListenerTimeline,
  type OwnershipChange,
  type Segment,
  spanOf,
} from '../timeline-model';
import { SearchBox } from './search';

/** Most listeners drawn at once (the most recently changed first; the filter finds the rest). */
const MAX_LISTENERS = 40;
/** Most lanes (fences) drawn per listener: the newest ones. */
const MAX_LANES = 12;

const filter = signal('');

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

function label(s: Segment): string {
  const length = duration(s.end - s.start);
  if (s.kind === 'gap') return `gap ${length}`;
  if (s.kind === 'overlap') return `overlap ${s.from} + ${s.owner} ${length}`;
  return `${s.owner} · fence ${s.fence} · ${s.reason}${s.open ? ` · ${length} so far` : ` · ${length}`}`;
}

function SegmentBar({ s, span }: { s: Segment; span: { start: number; end: number } }) {
  const width = span.end - span.start;
  const left = ((s.start - span.start) / width) * 100;
  const size = Math.max(((s.end - s.start) / width) * 100, 0.4);
  return (
    <div
      class={`seg seg-${s.kind}`}
      style={{ left: `${left}%`, width: `${Math.min(size, 100 - left)}%` }}
      data-kind={s.kind}
      data-owner={s.owner ?? ''}
      data-from={s.from ?? ''}
      data-fence={s.fence}
      data-reason={s.reason}
      data-start={s.start}
      data-end={s.end}
      data-length-ms={s.end - s.start}
      data-open={s.open ? 'true' : 'false'}
      title={`${label(s)} (${clock(s.start)} – ${clock(s.end)})`}
    >
      <span>{label(s)}</span>
    </div>
  );
}

function ListenerLanes(props: {
  t: ListenerTimeline & { hidden: number };
  span: { start: number; end: number };
}) {
  const { t, span } = props;
  return (
    <div class="timeline-listener" data-timeline-listener={t.listenerId}>
      <h3>
        {t.listenerId}
        {t.hidden > 0 ? <span class="muted"> · {t.hidden} older fences not shown</span> : null}
      </h3>
      {t.lanes.map((lane) => (
        <div
          class="lane"
          key={lane.fence}
          data-lane-fence={lane.fence}
          data-owner={lane.owner ?? ''}
        >
          <span class="lane-label">
            fence {lane.fence} · {lane.owner}
          </span>
          <div class="lane-track">
            {lane.segments.map((s) => (
              <SegmentBar key={`${s.kind}-${s.start}`} s={s} span={span} />
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}

/** The lanes of `log` up to `at` (the live view: the ownership log up to now). */
export function Timeline({ log, at }: { log: readonly OwnershipChange[]; at: number }) {
  const needle = filter.value.trim().toLowerCase();
  const all = buildTimelines(
    log.filter((e) => e.at <= at),
    at,
  );
  const shown = (needle ? all.filter((t) => t.listenerId.toLowerCase().includes(needle)) : all)
    .slice(0, MAX_LISTENERS)
    .map((t) => ({
      ...t,
      hidden: Math.max(0, t.lanes.length - MAX_LANES),
      lanes: t.lanes.slice(-MAX_LANES),
    }));
  const span = spanOf(shown);
  return (
    <div class="timeline" data-testid="timeline" data-listeners={all.length}>
      <div class="toolbar">
        <SearchBox value={filter} testId="timeline-filter" placeholder="filter by listener id" />
        <span class="muted">
          {shown.length} of {all.length} listeners · {clock(span.start)} – {clock(span.end)} ·{' '}
          <span class="key seg-owned">owned</span> <span class="key seg-overlap">overlap</span>{' '}
          <span class="key seg-gap">gap</span>
        </span>
      </div>
      {shown.length === 0 ? <p class="muted">No ownership changes recorded yet.</p> : null}
      {shown.map((t) => (
        <ListenerLanes key={t.listenerId} t={t} span={span} />
      ))}
    </div>
  );
}

/** The live timeline: the ownership log as `/admin/ownership` answers it, drawn up to now. */
export function TimelineView() {
  return (
    <section>
      <h2>Ownership timeline</h2>
      <p class="muted">
        One lane per fence. Red: both owners were connected (a handoff, from the message the new
        owner named as caught up to its claim). Amber: nobody owned the listener (a release, then a
        claim).
      </p>
      <Timeline log={ownership.value} at={Math.max(now.value, lastAt(ownership.value))} />
    </section>
  );
}

/** The newest change's time: the page's clock may lag the store's by a little. */
function lastAt(log: readonly OwnershipChange[]): number {
  return log.length === 0 ? 0 : log[log.length - 1]!.at;
}
