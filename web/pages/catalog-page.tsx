import { useDeferredValue, useId, useState } from 'react';
import { useQuery } from 'urql';
import { WebCatalogDocument, type CatalogSort, type ModelTask } from '../../generated/web/graphql';
import { ErrorNotice } from '../components/error-notice';
import { LiveBadge, TaskBadge, VendorBadge } from '../components/task-badge';
import { formatScore } from '../format';
import { Link } from '../router';

const TASKS: ModelTask[] = ['SIGNAL', 'CONSENSUS', 'OPTIMIZER'];
const SORTS: { value: CatalogSort; label: string }[] = [
  { value: 'PUBLISHED_DESC', label: 'Newest published' },
  { value: 'CREATED_DESC', label: 'Newest created' },
  { value: 'NAME_ASC', label: 'Name' },
];

export function CatalogPage() {
  const ids = { search: useId(), task: useId(), sort: useId() };
  const [search, setSearch] = useState('');
  const [task, setTask] = useState<ModelTask | ''>('');
  const [sort, setSort] = useState<CatalogSort>('PUBLISHED_DESC');
  const words = useDeferredValue(search.trim());
  const [{ data, error, fetching }] = useQuery({
    query: WebCatalogDocument,
    variables: { filter: { search: words || undefined, task: task || undefined }, sort, first: 50 },
  });
  const models = data?.catalog.nodes ?? [];
  return (
    <section aria-labelledby="catalog-title">
      <h1 id="catalog-title">Model catalog</h1>
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label htmlFor={ids.search}>Search</label>
        <input id={ids.search} type="search" value={search} placeholder="name, tag or description" onChange={(event) => setSearch(event.target.value)} />
        <label htmlFor={ids.task}>Task</label>
        <select id={ids.task} value={task} onChange={(event) => setTask(event.target.value as ModelTask | '')}>
          <option value="">All tasks</option>
          {TASKS.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
        <label htmlFor={ids.sort}>Sort</label>
        <select id={ids.sort} value={sort} onChange={(event) => setSort(event.target.value as CatalogSort)}>
          {SORTS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </form>
      {error && <ErrorNotice error={error} />}
      {data && (
        <p className="muted" aria-live="polite">
          {data.catalog.totalCount === 1 ? '1 model' : `${data.catalog.totalCount} models`}
        </p>
      )}
      {!fetching && data && models.length === 0 && <p>No model matches: try other words or another task.</p>}
      <ul className="cards">
        {models.map((model) => (
          <li key={model.id} className="card">
            <h2>
              <Link to={`/models/${model.slug}`}>{model.name}</Link>
            </h2>
            <p className="badges">
              <VendorBadge name={model.vendor.displayName} handle={model.vendor.handle} />
              <TaskBadge task={model.task} />
              <LiveBadge status={model.liveStatus} />
            </p>
            <p>{model.description}</p>
            {model.tags.length > 0 && (
              <ul className="tags" aria-label="Tags">
                {model.tags.map((tag) => (
                  <li key={tag}>{tag}</li>
                ))}
              </ul>
            )}
            {model.latestScores ? (
              <dl className="scores" aria-label={`Latest scores, ${model.latestScores.label}`}>
                <dt>Round</dt>
                <dd>{model.latestScores.round}</dd>
                <dt>CORR</dt>
                <dd className="score-corr">{formatScore(model.latestScores.corr.mean)}</dd>
                <dt>Sharpe</dt>
                <dd>{formatScore(model.latestScores.corr.sharpe, 2)}</dd>
                <dt>MMC</dt>
                <dd>{formatScore(model.latestScores.mmc?.mean)}</dd>
              </dl>
            ) : (
              <p className="muted">Not scored yet.</p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
