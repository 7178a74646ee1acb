import { TokenFormat } from '../../tokens';

/** The browser session cookie's token, `mps_<lookup>_<secret><checksum>`. */
export const sessionTokenFormat = new TokenFormat('mps', 'session', 'session cookie');

/** The cookie that carries it: HttpOnly, SameSite=Strict, Secure when the site is served over https. */
export const SESSION_COOKIE = 'mp_session';

/** How long a session lasts from sign-in, however active it is. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
