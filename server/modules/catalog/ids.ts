/** The id prefix of catalog models (`mdl_...`). */
export const CATALOG_MODEL_ID_PREFIX = 'mdl';
