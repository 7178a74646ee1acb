import type { ReactNode } from 'react';
import { Link, navigate, useLocation } from '../router';
import { needsSession } from '../routes';
import { signOut } from '../session';
import { useSessionChanged } from '../session-context';

function NavLink({ to, exact, children }: { to: string; exact?: boolean; children: ReactNode }) {
  const { path } = useLocation();
  const active = to === '/' || exact ? path === to : path === to || path.startsWith(`${to}/`);
  return (
    <Link to={to} className={active ? 'nav-link active' : 'nav-link'}>
      {children}
    </Link>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { path } = useLocation();
  const sessionChanged = useSessionChanged();
  const inConsole = needsSession(path);
  const onSignOut = async () => {
    await signOut();
    sessionChanged();
    navigate('/login?signedOut=1');
  };
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          Trader marketplace
        </Link>
        <nav aria-label="Main">
          <NavLink to="/">Catalog</NavLink>
          <NavLink to="/leaderboard">Leaderboard</NavLink>
          <NavLink to="/console" exact>
            Console
          </NavLink>
          {inConsole && <NavLink to="/console/training">Training</NavLink>}
          {inConsole && <NavLink to="/console/datasets">Datasets</NavLink>}
          {inConsole && <NavLink to="/console/keys">API keys</NavLink>}
          <a className="nav-link" href="/graphql">
            GraphiQL
          </a>
          {inConsole && (
            <button type="button" className="link-button" onClick={() => void onSignOut()}>
              Sign out
            </button>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
