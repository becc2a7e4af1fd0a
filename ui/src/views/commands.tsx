/**
 * Commands view: start, stop or restart a listener. Each command is confirmed first, and the API's
 * answer (status and JSON) is shown as it came. A start's upstream token is sent in the body only.
 */
import { signal } from '@preact/signals';
import { type ApiAnswer, api } from '../api';
import { refreshListeners } from '../state';

interface Pending {
  command: 'start' | 'stop' | 'restart';
  listenerId: string;
  token: string;
}

const pending = signal<Pending | null>(null);
const answer = signal<(ApiAnswer & { command: string }) | null>(null);

async function send(p: Pending) {
  const body: Record<string, string> = { command: p.command, listener_id: p.listenerId };
  if (p.token !== '') body.sxtToken = p.token;
  const a = await api('command', { method: 'POST', body });
  answer.value = { ...a, command: `${p.command} ${p.listenerId}` };
  pending.value = null;
  void refreshListeners();
}

/** The command form, its confirmation step and the last answer. */
export function CommandsView() {
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const field = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
    pending.value = {
      command: field('command') as Pending['command'],
      listenerId: field('listener').trim(),
      token: field('sxtToken'),
    };
    (form.elements.namedItem('sxtToken') as HTMLInputElement).value = '';
  };
  const p = pending.value;
  const a = answer.value;
  return (
    <section>
      <h2>Commands</h2>
      <form class="command" data-testid="command-form" onSubmit={onSubmit}>
        <select name="command" data-testid="command-select">
          <option value="stop">stop</option>
          <option value="start">start</option>
          <option value="restart">restart</option>
        </select>
        <input name="listener" data-testid="command-listener" placeholder="listener id" required />
        <input
          name="sxtToken"
          type="password"
          autocomplete="off"
          placeholder="upstream token (start)"
        />
        <button type="submit">Send…</button>
      </form>
      {p ? (
        <div class="confirm" data-testid="command-confirm">
          Send <b>{p.command}</b> to <b>{p.listenerId}</b>?{' '}
          <button type="button" data-testid="command-yes" onClick={() => void send(p)}>
            Confirm
          </button>{' '}
          <button type="button" onClick={() => (pending.value = null)}>
            Cancel
          </button>
        </div>
      ) : null}
      {a ? (
        <div data-testid="command-answer" data-status={a.status}>
          <h3>
            {a.command}: HTTP {a.status}
          </h3>
          <pre>{JSON.stringify(a.body, null, 2)}</pre>
        </div>
      ) : null}
    </section>
  );
}
