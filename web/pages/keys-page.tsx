import { useId, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { WebCreateKeyDocument, WebKeysDocument, WebRevokeKeyDocument, WebRevokeSessionDocument } from '../../generated/web/graphql';
import { ConfirmButton } from '../components/confirm-button';
import { CopyButton } from '../components/copy-button';
import { ErrorNotice } from '../components/error-notice';
import { useRequireSession } from '../components/require-session';
import { formatTime } from '../format';

function CreateKeyForm({ onCreated }: { onCreated: () => void }) {
  const ids = { name: useId(), expires: useId() };
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [result, createKey] = useMutation(WebCreateKeyDocument);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    const expiresAt = expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null;
    const answer = await createKey({ input: { name: name.trim(), expiresAt } });
    if (answer.data) {
      setCreated({ name: answer.data.createApiKey.apiKey.name, secret: answer.data.createApiKey.secret });
      setName('');
      setExpires('');
      onCreated();
    }
  };

  return (
    <section className="panel" aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <form onSubmit={(event) => void onSubmit(event)} className="inline-form">
        <label htmlFor={ids.name}>Name</label>
        <input id={ids.name} value={name} maxLength={64} onChange={(event) => setName(event.target.value)} />
        <label htmlFor={ids.expires}>Expires on (optional)</label>
        <input id={ids.expires} type="date" value={expires} onChange={(event) => setExpires(event.target.value)} />
        <button type="submit" disabled={result.fetching}>
          Create key
        </button>
      </form>
      {result.error && <ErrorNotice error={result.error} />}
      {created && (
        <div className="notice secret" role="status">
          <p>
            The key <strong>{created.name}</strong> is shown this once: copy it now.
          </p>
          <p className="command">
            <code data-testid="new-secret">{created.secret}</code> <CopyButton text={created.secret} label="Copy the new key" />
          </p>
          <button type="button" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
      )}
    </section>
  );
}

export function KeysPage() {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WebKeysDocument, requestPolicy: 'cache-and-network' });
  const [revokeKeyResult, revokeKey] = useMutation(WebRevokeKeyDocument);
  const [revokeSessionResult, revokeSession] = useMutation(WebRevokeSessionDocument);
  const signingIn = useRequireSession(error);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  if (signingIn) return <p aria-busy="true">Your session has ended: taking you to sign in…</p>;
  if (error) return <ErrorNotice error={error} />;
  if (fetching && !data) return <p aria-busy="true">Loading your keys…</p>;
  if (!data) return null;
  const mutationError = revokeKeyResult.error ?? revokeSessionResult.error;
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <CreateKeyForm onCreated={reload} />
      {mutationError && <ErrorNotice error={mutationError} />}
      <h2>Your keys</h2>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.apiKeys.nodes.map((key) => (
              <tr key={key.id}>
                <th scope="row">{key.name}</th>
                <td>
                  <code>{key.prefix}</code>
                </td>
                <td>{key.status}</td>
                <td>{formatTime(key.createdAt)}</td>
                <td>{key.expiresAt ? formatTime(key.expiresAt) : 'never'}</td>
                <td>{formatTime(key.lastUsedAt)}</td>
                <td>
                  <ConfirmButton
                    label={`Revoke ${key.name}`}
                    question={`Revoke ${key.name}? It stops working everywhere at once, with its sessions.`}
                    confirmLabel="Confirm revoke"
                    onConfirm={() => void revokeKey({ id: key.id }).then(reload)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Browser sessions</h2>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Browser</th>
              <th scope="col">Key</th>
              <th scope="col">Signed in</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.sessions.nodes.map((session) => (
              <tr key={session.id}>
                <th scope="row">
                  {session.userAgent ?? 'unknown browser'}
                  {session.current && <span className="badge live"> this browser</span>}
                </th>
                <td>{session.apiKeyName}</td>
                <td>{formatTime(session.createdAt)}</td>
                <td>{formatTime(session.expiresAt)}</td>
                <td>
                  <ConfirmButton
                    label={session.current ? 'End this session' : 'End session'}
                    question="End this session? That browser has to sign in again."
                    confirmLabel="Confirm end"
                    onConfirm={() => void revokeSession({ id: session.id }).then(reload)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
