import { useQuery } from 'urql';
import { WebDatasetsDocument } from '../../generated/web/graphql';
import { CopyButton } from '../components/copy-button';
import { ErrorNotice } from '../components/error-notice';
import { useRequireSession } from '../components/require-session';
import { formatTime } from '../format';
import { formatBytes } from '../format-bytes';

export function DatasetsPage() {
  const [{ data, error, fetching }] = useQuery({ query: WebDatasetsDocument, requestPolicy: 'cache-and-network' });
  const signingIn = useRequireSession(error);
  if (signingIn) return <p aria-busy="true">Your session has ended: taking you to sign in…</p>;
  if (error) return <ErrorNotice error={error} />;
  if (fetching && !data) return <p aria-busy="true">Loading the rounds…</p>;
  if (!data) return null;
  return (
    <section aria-labelledby="datasets-title">
      <h1 id="datasets-title">Dataset rounds</h1>
      {data.rounds.nodes.length === 0 && <p>No round has been published yet.</p>}
      {data.rounds.nodes.map((round) => (
        <section key={round.number} className="panel round" aria-labelledby={`round-${round.number}`}>
          <h2 id={`round-${round.number}`}>
            {round.name.includes(String(round.number)) ? round.name : `Round ${round.number}: ${round.name}`} ({round.status})
          </h2>
          <p>{round.description}</p>
          <p className="muted">
            Opens {formatTime(round.opensAt)}, closes {formatTime(round.closesAt)}; targets {round.horizonDays} days ahead. CLI:{' '}
            <code>mp data pull --round {round.number}</code>
          </p>
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Size</th>
                  <th scope="col">Rows</th>
                  <th scope="col">SHA-256</th>
                  <th scope="col">
                    <span className="visually-hidden">Download</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {round.files.map((file) => (
                  <tr key={file.name}>
                    <th scope="row">
                      <code>{file.name}</code>
                    </th>
                    <td>{file.kind}</td>
                    <td>{formatBytes(file.sizeBytes)}</td>
                    <td>{file.rowCount}</td>
                    <td>
                      <code title={file.sha256}>{file.sha256.slice(0, 16)}…</code> <CopyButton text={file.sha256} label={`Copy the SHA-256 of ${file.name}`} />
                    </td>
                    <td>
                      <a href={file.downloadUrl} download={file.name} aria-label={`Download ${file.name}`}>
                        Download
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
    </section>
  );
}
