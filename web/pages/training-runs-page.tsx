import { useEffect, useId, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { WebTrainingRunsDocument, type TrainingRunStatus } from '../../generated/web/graphql';
import { ErrorNotice } from '../components/error-notice';
import { useRequireSession } from '../components/require-session';
import { formatTime } from '../format';
import { Link } from '../router';

const STATUSES: TrainingRunStatus[] = ['QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'BUDGET_EXCEEDED'];
const ACTIVE: TrainingRunStatus[] = ['QUEUED', 'STARTING', 'RUNNING'];
const REFRESH_MS = 3_000;

export function TrainingRunsPage() {
  const statusId = useId();
  const [status, setStatus] = useState('');
  const filter = useMemo(() => {
    if (status === 'ACTIVE') return { status: ACTIVE };
    return status ? { status: [status as TrainingRunStatus] } : {};
  }, [status]);
  const [{ data, error, fetching }, refetch] = useQuery({ query: WebTrainingRunsDocument, variables: { filter }, requestPolicy: 'cache-and-network' });
  const signingIn = useRequireSession(error);
  // The list follows the runs' status changes by asking again every few seconds.
  useEffect(() => {
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refetch]);
  if (signingIn) return <p aria-busy="true">Your session has ended: taking you to sign in…</p>;
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Training runs</h1>
      <p>
        <Link to="/console/training/new">New training run</Link>
      </p>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label htmlFor={statusId}>Status</label>
        <select id={statusId} value={status} onChange={(event) => setStatus(event.target.value)}>
          <option value="">Every status</option>
          <option value="ACTIVE">Queued, starting or running</option>
          {STATUSES.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </form>
      {error && <ErrorNotice error={error} />}
      {fetching && !data && <p aria-busy="true">Loading your runs…</p>}
      {data && data.trainingRuns.nodes.length === 0 && (
        <p>
          No run matches. Start one from the <Link to="/console/training/new">form</Link> or with <code>mp train start</code>.
        </p>
      )}
      {data && data.trainingRuns.nodes.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Task</th>
                <th scope="col">Round</th>
                <th scope="col">GPU</th>
                <th scope="col">Cost / budget (USD)</th>
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
                  <td>
                    {run.costUsd} / {run.spec.maxBudgetUsd}
                  </td>
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
