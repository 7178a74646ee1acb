import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresDatabase, postGraphQL, usingPostgres } from '../helpers/server';
import { runServerCommand, startServerProcess, type RunningServer } from '../helpers/server-process';
import { eventually } from '../helpers/processes';
import {
  TestStartTrainingRunIdDocument,
  TestStoredLogLinesDocument,
  TestTrainingRunOutcomeDocument as RUN,
  type TestTrainingRunOutcomeQuery,
} from '../../generated/test-operations';
import { localRunUser } from '../../server/providers/local/run-user';
import { templatesDir } from '../../server/modules/training/templates';

/** Tries what a training program must not be able to do, and prints one line of what happened. */
const PROBE = `
const fs = require('fs'), path = require('path');
const hp = JSON.parse(process.env.MP_HPARAMS);
const attempt = (fn) => { try { return 'read: ' + String(fn()).slice(0, 200); } catch (error) { return error.code; } };
console.log('probe ' + JSON.stringify({
  uid: process.getuid(),
  environ: attempt(() => fs.readFileSync('/proc/' + hp.server_pid + '/environ', 'latin1')),
  secret: attempt(() => fs.readFileSync(path.join(hp.data_dir, 'signing-secret'), 'utf8')),
  database: attempt(() => fs.readFileSync(path.join(hp.data_dir, 'pglite', 'PG_VERSION'), 'utf8')),
  dataDir: attempt(() => fs.readdirSync(hp.data_dir).join(',')),
}));
`;

const CANARY = 'canary-0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** A real server process running as root: its local training programs run as nobody. */
describe(`what a local training program can reach (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let dataDir: string;
  let templates: string;
  let server: RunningServer | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  let apiKey: string;

  before(async function () {
    if (process.getuid?.() !== 0) {
      // Only root can run programs as another user; as anyone else they run as the server's user and can read its environment.
      this.skip();
    }
    // A checkout nobody cannot reach (cloned into a 0700 directory, say): the server runs programs as itself and says so.
    const runUser = localRunUser(undefined, [templatesDir(), process.execPath, require.resolve('tsx/cjs')]);
    if (runUser.warning) {
      process.stderr.write(`      (skipped: ${runUser.warning})\n`);
      this.skip();
    }
    dataDir = await mkdtemp(path.join(tmpdir(), 'mp-isolation-'));
    templates = await mkdtemp(path.join(tmpdir(), 'mp-isolation-templates-'));
    await chmod(templates, 0o755);
    await mkdir(path.join(templates, 'probe'));
    await writeFile(
      path.join(templates, 'probe', 'package.json'),
      JSON.stringify({ name: 'probe', main: 'train.js', mp: { hyperparameters: { server_pid: { type: 'integer' }, data_dir: { type: 'string' } } } }),
    );
    await writeFile(path.join(templates, 'probe', 'train.js'), PROBE);
    // No MP_SIGNING_SECRET: the server generates MP_DATA_DIR/signing-secret; the canary stands for the secrets in its environment.
    const env: Record<string, string> = { MP_DATA_DIR: dataDir, MP_TEMPLATES_DIR: templates, MP_ISOLATION_CANARY: CANARY };
    if (usingPostgres) {
      const created = await createPostgresDatabase();
      dropDatabase = created.drop;
      Object.assign(env, { DATABASE_URL: created.url, MP_SEED_DEMO: 'true' });
      const migrated = await runServerCommand(['migrate'], env);
      assert.equal(migrated.code, 0, migrated.stderr);
    }
    const created = await runServerCommand(['vendor', 'create', '--name', 'Probe Lab', '--email', 'p@example.com', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    apiKey = (JSON.parse(created.stdout) as { apiKey: string }).apiKey;
    server = await startServerProcess(env);
  });

  after(async () => {
    await server?.stop('SIGTERM');
    await dropDatabase?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (templates) await rm(templates, { recursive: true, force: true });
  });

  it("cannot read the server's environment (/proc/<pid>/environ), MP_DATA_DIR/signing-secret or the database files", async () => {
    const started = await postGraphQL(
      server!.graphqlUrl,
      TestStartTrainingRunIdDocument,
      {
        spec: {
          task: 'SIGNAL',
          template: 'probe',
          hyperparameters: [
            { name: 'server_pid', value: server!.child.pid! },
            { name: 'data_dir', value: dataDir },
          ],
        },
      },
      apiKey,
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;
    let run: TestTrainingRunOutcomeQuery['trainingRun'] | undefined;
    assert.ok(
      await eventually(async () => {
        run = (await postGraphQL(server!.graphqlUrl, RUN, { id }, apiKey)).data!.trainingRun;
        return run.status === 'SUCCEEDED' || run.status === 'FAILED';
      }, 60_000),
    );
    assert.equal(run?.status, 'SUCCEEDED', run?.failureReason ?? '');
    let lines: string[] = [];
    await eventually(async () => {
      const page = await postGraphQL(server!.graphqlUrl, TestStoredLogLinesDocument, { id, first: 100 }, apiKey);
      lines = page.data!.trainingLogs.lines.map((l) => l.line);
      return lines.some((line) => line.startsWith('probe '));
    }, 10_000);
    assert.ok(!lines.join('\n').includes(CANARY));
    const probeLine = lines.find((line) => line.startsWith('probe '));
    assert.ok(probeLine, `the program printed its probe:\n${lines.join('\n')}`);
    const probe = JSON.parse(probeLine.slice('probe '.length)) as Record<string, unknown>;
    assert.deepEqual(probe, {
      uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()),
      environ: 'EACCES',
      secret: 'EACCES',
      // The embedded database's directory is the server's alone; on PostgreSQL there is none.
      database: usingPostgres ? 'ENOENT' : 'EACCES',
      dataDir: 'EACCES',
    });
  });
});
