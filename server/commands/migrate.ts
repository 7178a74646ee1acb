import { runOperatorAction } from '../operator/run-action';
import { migrate } from '../operator/actions/migrate';
import { withConfig } from './with-config';

/** `mp-server migrate`: apply pending migrations (a running embedded server has applied them at its start). */
export function runMigrate(): Promise<void> {
  return withConfig(async (config, log) => {
    const { applied } = await runOperatorAction(config, log, migrate, {});
    log.info({ migrations: applied }, 'migrations applied');
    process.stdout.write(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'Database is up to date.\n');
  });
}
