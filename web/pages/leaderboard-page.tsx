import { useId, useState } from 'react';
import { useQuery } from 'urql';
import { WebLeaderboardDocument, type LeaderboardSort } from '../../generated/web/graphql';
import { ErrorNotice } from '../components/error-notice';
import { VendorBadge } from '../components/task-badge';
import { formatScore } from '../format';
import { Link } from '../router';

const SORTS: LeaderboardSort[] = ['CORR', 'CORR_SHARPE', 'MMC', 'FNC'];

export function LeaderboardPage() {
  const sortId = useId();
  const [sort, setSort] = useState<LeaderboardSort>('CORR');
  const [{ data, error, fetching }] = useQuery({ query: WebLeaderboardDocument, variables: { sort } });
  const board = data?.leaderboard;
  return (
    <section aria-labelledby="leaderboard-title">
      <h1 id="leaderboard-title">Leaderboard{board ? `: ${board.label}` : ''}</h1>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label htmlFor={sortId}>Rank by</label>
        <select id={sortId} value={sort} onChange={(event) => setSort(event.target.value as LeaderboardSort)}>
          {SORTS.map((value) => (
            <option key={value} value={value}>
              {value.replace('_', ' ')}
            </option>
          ))}
        </select>
      </form>
      {error && <ErrorNotice error={error} />}
      {!fetching && data && !board && <p>No round has been scored yet.</p>}
      {board && (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">
              Models ranked by {sort} in {board.label}
            </caption>
            <thead>
              <tr>
                <th scope="col">Rank</th>
                <th scope="col">Model</th>
                <th scope="col">Vendor</th>
                <th scope="col">CORR</th>
                <th scope="col">Sharpe</th>
                <th scope="col">MMC</th>
                <th scope="col">FNC</th>
              </tr>
            </thead>
            <tbody>
              {board.nodes.map((entry) => (
                <tr key={entry.model.id}>
                  <td>{entry.rank}</td>
                  <th scope="row">
                    <Link to={`/models/${entry.model.slug}`}>{entry.model.name}</Link>
                  </th>
                  <td>
                    <VendorBadge name={entry.vendor.displayName} handle={entry.vendor.handle} />
                  </td>
                  <td className="score-corr">{formatScore(entry.scores.corr.mean)}</td>
                  <td>{formatScore(entry.scores.corr.sharpe, 2)}</td>
                  <td>{formatScore(entry.scores.mmc?.mean)}</td>
                  <td>{formatScore(entry.scores.fnc?.mean)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
