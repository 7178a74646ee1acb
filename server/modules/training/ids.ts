/** The id prefix of training runs (`run_...`). */
export const TRAINING_RUN_ID_PREFIX = 'run';
