/** The console's pages by path; links and bookmarks rely on these staying put (server/http/web-console.ts serves them). */
export type Route =
  | { page: 'catalog' }
  | { page: 'model'; slug: string }
  | { page: 'leaderboard' }
  | { page: 'login' }
  | { page: 'dashboard' }
  | { page: 'keys' }
  | { page: 'training' }
  | { page: 'new-run' }
  | { page: 'datasets' }
  | { page: 'run'; id: string }
  | { page: 'not-found' };

export function routeOf(path: string): Route {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (trimmed === '/') return { page: 'catalog' };
  if (trimmed === '/leaderboard') return { page: 'leaderboard' };
  if (trimmed === '/login') return { page: 'login' };
  if (trimmed === '/console') return { page: 'dashboard' };
  if (trimmed === '/console/keys') return { page: 'keys' };
  if (trimmed === '/console/training') return { page: 'training' };
  if (trimmed === '/console/training/new') return { page: 'new-run' };
  if (trimmed === '/console/datasets') return { page: 'datasets' };
  const run = /^\/console\/training\/([A-Za-z0-9_-]+)$/.exec(trimmed);
  if (run) return { page: 'run', id: run[1] };
  const model = /^\/models\/([^/]+\/[^/]+)$/.exec(trimmed);
  if (model) return { page: 'model', slug: decodeURIComponent(model[1]) };
  return { page: 'not-found' };
}

/** Whether a path needs a signed-in vendor. */
export function needsSession(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}
