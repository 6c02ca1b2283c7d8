import { type FormEvent, useEffect, useState } from 'react';
import { api, ApiError, type Me, setSession, whenSignedOut } from './api';
import { ErrorNote, Field } from './ui';
import { ServersPage } from './pages/Servers';
import { KeysPage } from './pages/Keys';
import { TeamsPage } from './pages/Teams';
import { PlaygroundPage } from './pages/Playground';
import { LogsPage } from './pages/Logs';
import { SignInsPage } from './pages/SignIns';

interface Page {
  path: string;
  title: string;
  /** Who the page is offered to (the API decides anyway). */
  shown: (me: Me) => boolean;
  render: (me: Me) => React.ReactNode;
}

const PAGES: Page[] = [
  { path: 'servers', title: 'MCP servers', shown: () => true, render: (me) => <ServersPage me={me} /> },
  {
    path: 'keys',
    title: 'Virtual keys',
    shown: (me) => me.can_read_admin,
    render: (me) => <KeysPage me={me} />,
  },
  { path: 'teams', title: 'Teams', shown: (me) => me.can_read_admin, render: (me) => <TeamsPage me={me} /> },
  { path: 'playground', title: 'Tool playground', shown: () => true, render: () => <PlaygroundPage /> },
  { path: 'sign-ins', title: 'Upstream sign-ins', shown: () => true, render: () => <SignInsPage /> },
  { path: 'logs', title: 'Tool-call log', shown: (me) => me.can_read_admin, render: () => <LogsPage /> },
];

function currentPath(): string {
  return window.location.hash.replace(/^#\/?/, '').split('?')[0] || 'servers';
}

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const [path, setPath] = useState(currentPath);

  useEffect(() => {
    const onHash = () => setPath(currentPath());
    window.addEventListener('hashchange', onHash);
    whenSignedOut(() => {
      setSession(null);
      setMe(null);
    });
    api<Me>('GET', '/ui/session')
      .then((who) => {
        setSession(who);
        setMe(who);
      })
      .catch(() => setMe(null))
      .finally(() => setChecked(true));
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const page = PAGES.find((p) => p.path === path);
    document.title = `${page?.title ?? 'MCP Gateway'} · MCP Gateway`;
  }, [path]);

  if (!checked) return <p className="loading">Loading…</p>;
  if (!me)
    return (
      <SignIn
        onSignedIn={(who) => {
          setSession(who);
          setMe(who);
        }}
      />
    );

  const pages = PAGES.filter((p) => p.shown(me));
  const page = pages.find((p) => p.path === path) ?? pages[0];
  const signOut = async () => {
    await api('DELETE', '/ui/session').catch(() => undefined);
    setSession(null);
    setMe(null);
  };
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <strong className="brand">MCP Gateway</strong>
        <nav aria-label="Pages">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="whoami">
            {me.kind === 'master_key' ? 'master key' : (me.key_alias ?? me.key_name)} · {me.role}
            {me.team_id ? ` · team ${me.team_id}` : ''}
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{page.title}</h1>
        {page.render(me)}
      </main>
    </div>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const who = await api<Me>('POST', '/ui/session', { key });
      setKey('');
      onSignedIn(who);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin" id="main">
      <h1>MCP Gateway</h1>
      <form onSubmit={(e) => void submit(e)} aria-label="Sign in">
        <Field
          label="API key"
          name="key"
          error={error}
          hint="The master key or a virtual key (sk-…). It is kept in an HttpOnly cookie, never in this page."
        >
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="current-password"
              value={key}
              required
              onChange={(e) => setKey(e.target.value)}
            />
          )}
        </Field>
        <ErrorNote error={error instanceof ApiError && error.about('key') ? null : error} />
        <button type="submit" disabled={busy || !key}>
          Sign in
        </button>
      </form>
    </main>
  );
}
