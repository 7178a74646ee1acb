/** The id prefix of deployments (`dep_...`). */
export const DEPLOYMENT_ID_PREFIX = 'dep';
/** The id prefix of deployment tokens' records (`dtk_...`); the token itself is `sit_...`. */
export const DEPLOYMENT_TOKEN_ID_PREFIX = 'dtk';
/** The id prefix of infrastructure clients (`icl_<lookup>`); their secret is `ic_...`. */
export const INFRA_CLIENT_ID_PREFIX = 'icl';
