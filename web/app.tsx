import { useCallback, useMemo, useState } from 'react';
import { Provider } from 'urql';
import { createGraphQLClient } from './client';
import { RouterProvider, useLocation } from './router';
import { routeOf } from './routes';
import { SessionChanged } from './session-context';
import { Layout } from './components/layout';
import { CatalogPage } from './pages/catalog-page';
import { ModelPage } from './pages/model-page';
import { LeaderboardPage } from './pages/leaderboard-page';
import { LoginPage } from './pages/login-page';
import { DashboardPage } from './pages/dashboard-page';
import { KeysPage } from './pages/keys-page';
import { TrainingRunsPage } from './pages/training-runs-page';
import { TrainingRunPage } from './pages/training-run-page';
import { NewRunPage } from './pages/new-run-page';
import { DatasetsPage } from './pages/datasets-page';
import { NotFoundPage } from './pages/not-found-page';

function CurrentPage() {
  const route = routeOf(useLocation().path);
  switch (route.page) {
    case 'catalog':
      return <CatalogPage />;
    case 'model':
      return <ModelPage slug={route.slug} />;
    case 'leaderboard':
      return <LeaderboardPage />;
    case 'login':
      return <LoginPage />;
    case 'dashboard':
      return <DashboardPage />;
    case 'keys':
      return <KeysPage />;
    case 'training':
      return <TrainingRunsPage />;
    case 'datasets':
      return <DatasetsPage />;
    case 'new-run':
      return <NewRunPage />;
    case 'run':
      return <TrainingRunPage key={route.id} id={route.id} />;
    case 'not-found':
      return <NotFoundPage />;
  }
}

export function App() {
  const [generation, setGeneration] = useState(0);
  // A new client per session: nothing one vendor's session fetched survives its sign-out.
  const client = useMemo(() => createGraphQLClient(), [generation]);
  const sessionChanged = useCallback(() => setGeneration((n) => n + 1), []);
  return (
    <SessionChanged.Provider value={sessionChanged}>
      <Provider value={client}>
        <RouterProvider>
          <Layout>
            <CurrentPage />
          </Layout>
        </RouterProvider>
      </Provider>
    </SessionChanged.Provider>
  );
}
