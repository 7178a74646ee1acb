import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient } from 'graphql-ws';
import { needsSession } from './routes';

/** Whether an answer says only that the request's session has ended (the server cleared its cookie with it). */
async function sessionEnded(response: Response): Promise<boolean> {
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] } | null;
  return !body?.data && body?.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED';
}

/** On a public page, a request whose session has ended is asked once more, without it, for the public answer. */
const fetchRetryingEndedSession: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (needsSession(window.location.pathname) || !(await sessionEnded(response))) return response;
  return fetch(input, init);
};

/** urql over HTTP (queries, mutations) and graphql-ws (subscriptions), both with the session cookie. */
export function createGraphQLClient(): Client {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const sockets = createWsClient({ url: `${scheme}://${window.location.host}/graphql`, lazy: true, retryAttempts: Infinity });
  return new Client({
    url: '/graphql',
    // POST with a JSON body: never a "simple" request, so Apollo's CSRF prevention lets it through.
    preferGetMethod: false,
    fetch: fetchRetryingEndedSession,
    fetchOptions: { credentials: 'same-origin' },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              return { unsubscribe: sockets.subscribe(input, sink) };
            },
          };
        },
      }),
    ],
  });
}
