import { TokenFormat } from '../../tokens/token-format';

/** Vendor and admin API keys: `vk_<lookup>_<secret><checksum>` (see server/tokens/token-format.ts). */
export const apiKeyFormat = new TokenFormat('vk', 'API key', 'key');
