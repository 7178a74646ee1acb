/**
 * Live: how subscription events reach many sockets cheaply, for any domain's feed.
 * - `shared-subscribe.ts`: subscriptions with the same document, variables and caller share
 *   each event's execution and serialization; a result without errors is written straight to
 *   its socket (direct send), with backpressure, and nothing is sent after return().
 * - `shared-frames.ts`: the socket class that writes one pre-serialized frame to many clients.
 * Feeds themselves ride on LISTEN/NOTIFY (`server/db/notifications.ts`); the training log hub
 * (`server/modules/training/log-hub.ts`) is the replay-then-follow feed built on them.
 */
export { sharedSubscribe, type DirectSend } from './shared-subscribe';
export { GraphQLWsSocket } from './shared-frames';
