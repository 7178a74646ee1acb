import { TokenFormat } from '../../tokens/token-format';

/**
 * The secrets of infrastructure clients (the trading systems that call POST /oauth/introspect):
 * `ic_<lookup>_<secret><checksum>`, the construction API keys use.
 */
export const infraClientFormat = new TokenFormat('ic', 'infrastructure client secret', 'secret');
