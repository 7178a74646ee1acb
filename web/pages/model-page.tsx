import { useQuery } from 'urql';
import { WebModelPageDocument } from '../../generated/web/graphql';
import { ErrorNotice } from '../components/error-notice';
import { LiveBadge, TaskBadge, VendorBadge } from '../components/task-badge';
import { formatDate, formatScore, formatTime } from '../format';

export function ModelPage({ slug }: { slug: string }) {
  const [{ data, error, fetching }] = useQuery({ query: WebModelPageDocument, variables: { slug } });
  if (error) return <ErrorNotice error={error} />;
  if (fetching || !data) return <p aria-busy="true">Loading the model…</p>;
  const { model, rounds } = data.modelPerformance;
  return (
    <article aria-labelledby="model-title">
      <h1 id="model-title">{model.name}</h1>
      <p className="badges">
        <VendorBadge name={model.vendor.displayName} handle={model.vendor.handle} />
        <TaskBadge task={model.task} />
        <LiveBadge status={model.liveStatus} />
        <span className="badge">{model.status}</span>
      </p>
      <p>{model.description}</p>
      <p className="muted">
        <code>{model.slug}</code> · published {formatDate(model.publishedAt)}
        {model.liveSince && <> · live since {formatTime(model.liveSince)}</>}
      </p>
      {model.tags.length > 0 && (
        <ul className="tags" aria-label="Tags">
          {model.tags.map((tag) => (
            <li key={tag}>{tag}</li>
          ))}
        </ul>
      )}
      <h2>Scores per round</h2>
      {rounds.length === 0 ? (
        <p>No round has scored this model yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Scores of {model.name} per round</caption>
            <thead>
              <tr>
                <th scope="col">Round</th>
                <th scope="col">Rank</th>
                <th scope="col">CORR</th>
                <th scope="col">Sharpe</th>
                <th scope="col">Hit rate</th>
                <th scope="col">MMC</th>
                <th scope="col">FNC</th>
                <th scope="col">Scored</th>
              </tr>
            </thead>
            <tbody>
              {rounds.map((round) => (
                <tr key={round.round}>
                  <th scope="row">{round.label}</th>
                  <td>{round.rank === null || round.rank === undefined ? '–' : `${round.rank} of ${round.rankedModels}`}</td>
                  <td className="score-corr">{formatScore(round.corr.mean)}</td>
                  <td>{formatScore(round.corr.sharpe, 2)}</td>
                  <td>{formatScore(round.corr.hitRate, 2)}</td>
                  <td>{formatScore(round.mmc?.mean)}</td>
                  <td>{formatScore(round.fnc?.mean)}</td>
                  <td>{formatTime(round.scoredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}
