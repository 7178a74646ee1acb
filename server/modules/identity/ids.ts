/** The id prefixes of identity's objects (`ven_...`, `key_...`, `ses_...`). */
export const VENDOR_ID_PREFIX = 'ven';
export const API_KEY_ID_PREFIX = 'key';
export const SESSION_ID_PREFIX = 'ses';
