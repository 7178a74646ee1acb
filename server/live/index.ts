/**
 * Live: how subscription events reach many sockets cheaply, for any domain's feed.
 * - `shared-subscribe.ts`: subscriptions with the same document, variables and caller share
 *   each event's execution and serialization; a result without errors is written straight to
 *   its socket (direct send), with backpressure, and nothing is sent after return().
 * - `shared-frames.ts`: the socket class that writes one pre-serialized frame to many clients.
 * - `sequence-feed.ts`: replay-then-follow feeds of numbered items per key, shared by every
 *   subscriber of the key in a process, fed by the owner's writer and its NOTIFY channel.
 * - `pushed-stream.ts`: the bounded queue behind a subscription fed by a listener.
 * Notifications themselves (payload limit, reconnect) are `server/db/notifications.ts`.
 */
export { sharedSubscribe, type DirectSend } from './shared-subscribe';
export { GraphQLWsSocket } from './shared-frames';
export { SequenceFeeds, type SequenceSource } from './sequence-feed';
export { pushedStream, type PushedStream } from './pushed-stream';
