/** The id prefixes of identity's objects (`ven_...`, `key_...`). */
export const VENDOR_ID_PREFIX = 'ven';
export const API_KEY_ID_PREFIX = 'key';
