import { useCallback, useEffect, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { WebStopTrainingRunDocument, WebTrainingRunDocument, WebTrainingRunUpdatedDocument } from '../../generated/web/graphql';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorNotice } from '../components/error-notice';
import { LogView } from '../components/log-view';
import { MetricChart } from '../components/metric-chart';
import { useRequireSession } from '../components/require-session';
import { formatTime } from '../format';
import { formatBytes } from '../format-bytes';

const ACTIVE = new Set(['QUEUED', 'STARTING', 'RUNNING']);

export function TrainingRunPage({ id }: { id: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WebTrainingRunDocument, variables: { id }, requestPolicy: 'cache-and-network' });
  const [{ data: update }] = useSubscription({ query: WebTrainingRunUpdatedDocument, variables: { runId: id }, pause: !data });
  const [stopResult, stop] = useMutation(WebStopTrainingRunDocument);
  const signingIn = useRequireSession(error);
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  // Metric lines in the log mean new points: the run (for new metric names) and each chart ask again, at most once a second.
  const [metricsVersion, setMetricsVersion] = useState(0);
  const [metricsSeen, setMetricsSeen] = useState(0);
  const onMetric = useCallback(() => setMetricsSeen((n) => n + 1), []);
  useEffect(() => {
    if (metricsSeen === 0) return;
    const timer = setTimeout(() => {
      setMetricsVersion((n) => n + 1);
      reload();
    }, 1_000);
    return () => clearTimeout(timer);
  }, [metricsSeen, reload]);
  if (signingIn) return <p aria-busy="true">Your session has ended: taking you to sign in…</p>;
  if (error) return <ErrorNotice error={error} />;
  if (fetching && !data) return <p aria-busy="true">Loading the run…</p>;
  if (!data) return null;
  const run = data.trainingRun;
  const status = update?.trainingRunUpdated.status ?? run.status;
  const cost = update?.trainingRunUpdated.costUsd ?? run.costUsd;
  return (
    <article aria-labelledby="run-title">
      <h1 id="run-title">
        Run <code>{run.id}</code>
      </h1>
      <p className="badges">
        <span className="badge" data-testid="run-status">
          {status}
        </span>
        <span className="badge">{run.spec.task}</span>
        <span className="badge">round {run.spec.round}</span>
      </p>
      {ACTIVE.has(status) && (
        <p>
          <ConfirmButton
            label="Stop run"
            question="Stop this run? Its job is cancelled and cannot be resumed."
            confirmLabel="Confirm stop"
            onConfirm={() => void stop({ id: run.id }).then(reload)}
          />
        </p>
      )}
      {stopResult.error && <ErrorNotice error={stopResult.error} />}
      {(update?.trainingRunUpdated.failureReason ?? run.failureReason) && (
        <p className={status === 'CANCELLED' ? 'notice' : 'notice error'}>{update?.trainingRunUpdated.failureReason ?? run.failureReason}</p>
      )}
      <div className="grid">
        <section className="panel" aria-labelledby="spec-title">
          <h2 id="spec-title">Spec</h2>
          <dl className="facts">
            <dt>Template</dt>
            <dd>{run.spec.template ?? run.spec.image ?? '–'}</dd>
            <dt>GPU</dt>
            <dd>
              {run.spec.gpuType} on {run.spec.provider}
            </dd>
            <dt>Timeout</dt>
            <dd>{run.spec.timeoutSeconds} s</dd>
            {run.spec.hyperparameters.map((parameter) => (
              <div key={parameter.name} className="fact">
                <dt>{parameter.name}</dt>
                <dd>
                  <code>{String(parameter.value)}</code>
                </dd>
              </div>
            ))}
          </dl>
        </section>
        <section className="panel" aria-labelledby="cost-title">
          <h2 id="cost-title">Cost</h2>
          <p>
            {cost} of {run.spec.maxBudgetUsd} USD{run.costStatus === 'UNKNOWN' ? ' (may be incomplete)' : ''}
          </p>
          {run.costNote && <p className="muted">{run.costNote}</p>}
        </section>
        <section className="panel" aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          <ol className="timeline">
            {run.history.map((change) => (
              <li key={`${change.to}-${change.at}`}>
                {formatTime(change.at)}: {change.to}
                {change.reason ? ` (${change.reason})` : ''}
              </li>
            ))}
          </ol>
        </section>
      </div>
      {run.metrics.length > 0 && (
        <section aria-labelledby="metrics-title">
          <h2 id="metrics-title">Metrics</h2>
          <div className="grid">
            {run.metrics.map((metric) => (
              <MetricChart key={metric.name} runId={run.id} name={metric.name} version={metricsVersion} />
            ))}
          </div>
        </section>
      )}
      <LogView runId={run.id} onFinished={reload} onMetric={onMetric} />
      <h2>Artifacts</h2>
      {run.artifacts.length === 0 ? (
        <p>No artifact yet.</p>
      ) : (
        <ul>
          {run.artifacts.map((artifact) => (
            <li key={artifact.name}>
              <a href={artifact.downloadUrl} download={artifact.name}>
                {artifact.name}
              </a>{' '}
              ({formatBytes(artifact.sizeBytes)}, sha256 <code>{artifact.sha256.slice(0, 12)}…</code>)
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
