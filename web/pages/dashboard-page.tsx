import { useQuery } from 'urql';
import { WebDashboardDocument } from '../../generated/web/graphql';
import { CopyButton } from '../components/copy-button';
import { ErrorNotice } from '../components/error-notice';
import { useRequireSession } from '../components/require-session';
import { formatTime } from '../format';
import { Link } from '../router';

const NEAR_EXPIRY_MS = 14 * 24 * 60 * 60 * 1000;

export function DashboardPage() {
  const [{ data, error, fetching }] = useQuery({ query: WebDashboardDocument, requestPolicy: 'cache-and-network' });
  const signingIn = useRequireSession(error);
  if (signingIn) return <p aria-busy="true">Your session has ended: taking you to sign in…</p>;
  if (error) return <ErrorNotice error={error} />;
  if (fetching && !data) return <p aria-busy="true">Loading your dashboard…</p>;
  if (!data) return null;
  const loginCommand = `mp login --api-url ${window.location.origin}`;
  const soon = Date.now() + NEAR_EXPIRY_MS;
  const expiring = data.apiKeys.nodes.filter((key) => key.expiresAt && new Date(key.expiresAt).getTime() < soon);
  const round = data.currentRound;
  return (
    <section aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">{data.me.vendor ? data.me.vendor.displayName : 'Operator'}</h1>
      <div className="grid">
        <section className="panel" aria-labelledby="round-title">
          <h2 id="round-title">Current round</h2>
          {round ? (
            <p>
              {round.name.includes(String(round.number)) ? round.name : `Round ${round.number}: ${round.name}`} ({round.status})
              {round.closesAt && <>, closes {formatTime(round.closesAt)}</>}
            </p>
          ) : (
            <p>No round is open.</p>
          )}
        </section>
        <section className="panel" aria-labelledby="cli-title">
          <h2 id="cli-title">Use the CLI</h2>
          <p>Log the CLI in to this server:</p>
          <p className="command">
            <code>{loginCommand}</code> <CopyButton text={loginCommand} label="Copy the mp login command" />
          </p>
        </section>
        <section className="panel" aria-labelledby="expiring-title">
          <h2 id="expiring-title">Keys near expiry</h2>
          {expiring.length === 0 ? (
            <p>No key expires in the next 14 days.</p>
          ) : (
            <ul>
              {expiring.map((key) => (
                <li key={key.id}>
                  {key.name} (<code>{key.prefix}</code>) expires {formatTime(key.expiresAt)}
                </li>
              ))}
            </ul>
          )}
          <p>
            <Link to="/console/keys">Manage API keys</Link>
          </p>
        </section>
      </div>
      <h2>Recent training runs</h2>
      {data.trainingRuns.nodes.length === 0 ? (
        <p>
          No training run yet: start one with <code>mp train start</code>.
        </p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Task</th>
                <th scope="col">Round</th>
                <th scope="col">GPU</th>
                <th scope="col">Cost (USD)</th>
                <th scope="col">Queued</th>
              </tr>
            </thead>
            <tbody>
              {data.trainingRuns.nodes.map((run) => (
                <tr key={run.id}>
                  <th scope="row">
                    <Link to={`/console/training/${run.id}`}>
                      <code>{run.id}</code>
                    </Link>
                  </th>
                  <td>{run.status}</td>
                  <td>{run.spec.task}</td>
                  <td>{run.spec.round}</td>
                  <td>{run.spec.gpuType}</td>
                  <td>{run.costUsd}</td>
                  <td>{formatTime(run.queuedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
