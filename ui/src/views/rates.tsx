/** Rates view: messages emitted, duplicate and stale per second, and handoffs, as sparklines. */
import { rates } from '../state';

function Sparkline({ values }: { values: number[] }) {
  const w = 240;
  const h = 40;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const pts = values.map(
    (v, i) => `${(i * step).toFixed(1)},${(h - (v / max) * (h - 2) - 1).toFixed(1)}`,
  );
  return (
    <svg
      class="spark"
      viewBox={`0 0 ${w} ${h}`}
      width={w}
      height={h}
      role="img"
      aria-label="sparkline"
    >
      <polyline points={pts.join(' ')} />
    </svg>
  );
}

/** One sparkline per series from the server's ring of samples, with the latest rate and total. */
export function RatesView() {
  const r = rates.value;
  if (!r) return <p class="muted">No samples yet.</p>;
  return (
    <section>
      <h2>Rates</h2>
      <p class="muted">
        One sample every {r.interval_ms / 1000} s on this instance, kept for the last{' '}
        {Math.round((r.points.length * r.interval_ms) / 1000)} s.
      </p>
      <table class="grid" data-testid="rates">
        <tbody>
          {r.series.map((s) => {
            const values = r.points.map((p) => p[s] ?? 0);
            const last = values.at(-1) ?? 0;
            return (
              <tr key={s} data-series={s}>
                <th>{s}</th>
                <td>
                  <Sparkline values={values} />
                </td>
                <td data-rate={last}>{last.toFixed(1)}/s</td>
                <td>total {r.totals?.[s] ?? 0}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
