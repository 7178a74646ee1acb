/** Flags every command accepts (registered once on the root, `global: true`). */
export const globalOptions = {
  'api-url': {
    type: 'string',
    describe: 'Marketplace API URL (env MP_API_URL; default: saved by `mp login`, else http://127.0.0.1:4000/graphql)',
    requiresArg: true,
  },
  json: { type: 'boolean', default: false, describe: 'Print machine-readable JSON on stdout' },
  verbose: { type: 'boolean', default: false, describe: 'Show request ids and stack traces' },
  color: { type: 'boolean', default: true, describe: 'Colorize output (--no-color or NO_COLOR to disable)' },
} as const;

/** The parsed global flags, as every command's run() receives them. */
export interface GlobalArgs {
  apiUrl?: string;
  json: boolean;
  verbose: boolean;
  color: boolean;
}
