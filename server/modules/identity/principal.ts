import type { Role } from '../../../generated/schema-types';

export type { Role };

/** Who a request acts for, resolved from its API key. Cached for at most a minute. */
export interface Principal {
  role: Role;
  /** null for an admin key. */
  vendorId: string | null;
  apiKeyId: string;
  /** When the key expires; the validation cache never outlives it. */
  expiresAt: Date | null;
  /** The browser session the request came with (the web console's cookie); absent for a bearer key. */
  sessionId?: string;
}
