import type { Services } from '../context';
import type { Principal } from '../modules/identity/principal';
import type { Revocation } from '../modules/identity/key-validator';
import type { Credentials } from './socket-credentials';

/** What a WebSocket may authenticate with: an API key (connectionParams) or the browser's session cookie. */
export function callerCredentials(services: Services): Credentials<Revocation> {
  return {
    authenticate: (token: string, address?: string): Promise<Principal> =>
      services.sessions.owns(token) ? services.sessions.authenticate(token) : services.keys.authenticate(token, address),
    onRevoked: (listener) => services.keys.onRevoked(listener),
    affects: (principal, revocation) => services.keys.affects(principal, revocation),
  };
}
