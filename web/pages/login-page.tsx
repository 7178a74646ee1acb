import { useId, useState, type FormEvent } from 'react';
import { navigate, useLocation } from '../router';
import { signIn } from '../session';
import { useSessionChanged } from '../session-context';

/** Only a path of this site: `next` comes from the address bar, so it must not send the user elsewhere. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/console';
}

export function LoginPage() {
  const keyId = useId();
  const { params } = useLocation();
  const sessionChanged = useSessionChanged();
  const [apiKey, setApiKey] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reason = params.get('reason');

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (!apiKey.trim()) {
      setProblem('Enter your API key: it starts with vk_ (run `mp keys create` to make one).');
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await signIn(apiKey.trim());
      setApiKey('');
      sessionChanged();
      navigate(safeNext(params.get('next')), { replace: true });
    } catch (error) {
      setProblem(error instanceof Error ? error.message : 'Sign-in failed: try again.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="login-title" className="narrow">
      <h1 id="login-title">Sign in</h1>
      {params.get('signedOut') && (
        <p className="notice" role="status">
          You are signed out.
        </p>
      )}
      {reason && !problem && (
        <p className="notice" role="status">
          {reason}
        </p>
      )}
      <p>Your API key is exchanged once for a session held by the browser; the page never keeps the key.</p>
      <form onSubmit={(event) => void onSubmit(event)} noValidate>
        <label htmlFor={keyId}>API key</label>
        <input
          id={keyId}
          name="apiKey"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={apiKey}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${keyId}-problem` : undefined}
          onChange={(event) => setApiKey(event.target.value)}
        />
        {problem && (
          <p id={`${keyId}-problem`} className="notice error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
