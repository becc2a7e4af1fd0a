/**
 * The dashboard's shell: a sign-in form when the API wants a token, tabs for the views, and the
 * tab's one data loop. The view is chosen by the URL's fragment (`#listeners`, `#statechart/demo-1`).
 */
import { signal } from '@preact/signals';
import { render } from 'preact';
import { auth, saveToken, streamState } from './api';
import { refreshAll, start } from './state';
import './style.css';
import { CommandsView } from './views/commands';
import { FleetView } from './views/fleet';
import { ListenersView } from './views/listeners';
import { RatesView } from './views/rates';
import { ReplayView } from './views/replay';
import { StatechartView } from './views/statechart';
import { TimelineView } from './views/timeline';

const VIEWS = [
  'fleet',
  'listeners',
  'statechart',
  'timeline',
  'rates',
  'commands',
  'replay',
] as const;
type View = (typeof VIEWS)[number];

const route = signal(location.hash.slice(1));
window.addEventListener('hashchange', () => {
  route.value = location.hash.slice(1);
});

function currentView(): View {
  const name = route.value.split('/')[0] as View;
  return VIEWS.includes(name) ? name : 'fleet';
}

function SignIn() {
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem('token');
    const token = (input as HTMLInputElement).value.trim();
    if (token === '') return;
    saveToken(token);
    (input as HTMLInputElement).value = '';
    void refreshAll();
  };
  return (
    <form class="signin" data-testid="signin" onSubmit={onSubmit}>
      <h2>Admin token required</h2>
      <p>
        This instance has <code>ADMIN_TOKEN</code> set. The token is kept in this tab's session
        storage and sent only as an <code>Authorization</code> header.
      </p>
      <input name="token" type="password" autocomplete="off" placeholder="ADMIN_TOKEN" />
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const view = currentView();
  const arg = route.value.split('/').slice(1).join('/');
  let body = <p class="muted">Loading…</p>;
  if (auth.value === 'needed') body = <SignIn />;
  else if (auth.value === 'forbidden')
    body = (
      <p class="error" data-testid="forbidden">
        This instance answers its admin API to loopback clients only (no ADMIN_TOKEN is set).
      </p>
    );
  else if (auth.value === 'ok') {
    if (view === 'fleet') body = <FleetView />;
    else if (view === 'listeners') body = <ListenersView />;
    else if (view === 'statechart') body = <StatechartView actorId={arg} />;
    else if (view === 'timeline') body = <TimelineView />;
    else if (view === 'rates') body = <RatesView />;
    else if (view === 'replay') body = <ReplayView />;
    else body = <CommandsView />;
  }
  return (
    <>
      <header>
        <h1>Baton</h1>
        <nav>
          {VIEWS.map((v) => (
            <a href={`#${v}`} class={v === view ? 'current' : ''} data-view={v} key={v}>
              {v}
            </a>
          ))}
        </nav>
        <span class="stream" data-testid="stream" data-stream={streamState.value}>
          inspection stream: {streamState.value}
        </span>
      </header>
      <main data-testid="view" data-view={view} data-auth={auth.value}>
        {body}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
start();
