/**
 * Mocha root hooks (.mocharc.json requires this file). Before the first test of a run that
 * includes integration tests, the embedded database template every test server copies is built
 * once, with a timeout of its own: on a loaded machine it takes far longer than a hook's 30 s.
 */
import type { Context } from 'mocha';

const runsIntegrationTests = process.argv.some((arg) => arg.includes('integration'));

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    if (!runsIntegrationTests) return;
    this.timeout(300_000);
    const { warmEmbeddedTemplate } = require('./server') as typeof import('./server');
    await warmEmbeddedTemplate();
  },
};
