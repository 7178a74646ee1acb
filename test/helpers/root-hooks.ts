/**
 * Mocha root hooks (.mocharc.json requires this file). Before the first test of a run that
 * includes integration tests, the embedded database template every test server copies is built
 * once, with a timeout of its own: on a loaded machine it takes far longer than a hook's 30 s.
 */
import type { Context } from 'mocha';

const runsIntegrationTests = process.argv.some((arg) => arg.includes('integration'));
// Loaded here, before mocha takes its snapshot of the globals (TypeORM adds one), not in the hook.
const server = runsIntegrationTests ? (require('./server') as typeof import('./server')) : undefined;

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    if (!server) return;
    this.timeout(300_000);
    await server.warmEmbeddedTemplate();
  },
};
