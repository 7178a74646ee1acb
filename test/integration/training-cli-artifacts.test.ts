import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { runMp, type CliResult } from '../helpers/cli-process';
import { TestStartTrainingRunIdDocument } from '../../generated/test-operations';
import type { GpuTypesQuery, TrainTemplatesQuery } from '../../generated/cli-operations';

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe(`mp gpus, mp train templates and mp train artifacts (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  let runId: string;

  before(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-train-artifacts-'));
    server = await startTestServer();
    const { apiKey } = await server.createVendor();
    env = { XDG_CONFIG_HOME: workDir, MP_API_KEY: apiKey, MP_API_URL: server.graphqlUrl };
    const started = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 1 }] } }, apiKey);
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    runId = started.data!.startTrainingRun.id;
    const run = await server.app.services.trainingRuns.waitForFinal(runId, 60_000);
    assert.equal(run.status, 'SUCCEEDED', run.failureReason ?? '');
  });

  after(async () => {
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('mp gpus lists id, name, memory, price per hour and provider; --json gives the same as data', async () => {
    const table = await runMp(['gpus'], { env });
    assert.equal(table.code, 0, show(table));
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header, /^ID\s+NAME\s+MEMORY\s+PRICE\/H\s+PROVIDER$/);
    assert.ok(
      rows.some((row) => /^CPU\s+.*\d+ GB\s+\$0\.00\s+local$/.test(row)),
      table.stdout,
    );
    const json = await runMp(['gpus', '--provider', 'local', '--json'], { env });
    assert.equal(json.code, 0, show(json));
    const gpus = JSON.parse(json.stdout) as GpusJson;
    assert.ok(gpus.length > 0 && gpus.every((gpu) => gpu.provider === 'LOCAL' && Number.isInteger(gpu.memoryGb)));
  });

  it('mp train templates lists the training templates with their tasks and declared hyperparameters', async () => {
    const json = await runMp(['train', 'templates', '--json'], { env });
    assert.equal(json.code, 0, show(json));
    const templates = JSON.parse(json.stdout) as TemplatesJson;
    assert.deepEqual(
      templates.map((template) => template.name),
      ['runpod-signal-train'],
      'the serving template is not one',
    );
    const [train] = templates;
    assert.deepEqual(train.tasks, ['SIGNAL']);
    assert.deepEqual(
      train.hyperparameters.find((parameter) => parameter.name === 'epochs'),
      { name: 'epochs', type: 'INTEGER', default: 20, min: 1, max: 1000, description: 'passes over the training rows' },
    );
    const table = await runMp(['train', 'templates'], { env });
    assert.equal(table.code, 0, show(table));
    assert.match(table.stdout, /^runpod-signal-train {2}\(signal\)/m);
    assert.match(table.stdout, /^epochs\s+integer\s+20\s+1 to 1000\s+passes over the training rows$/m);
  });

  it("mp train artifacts downloads a run's artifacts verified, skips what is there, and resumes a partial one", async () => {
    const dir = path.join(workDir, 'out');
    const first = await runMp(['train', 'artifacts', runId, '--dir', dir, '--json'], { env });
    assert.equal(first.code, 0, show(first));
    const summary = JSON.parse(first.stdout) as ArtifactsJson;
    assert.ok(summary.artifacts.some((artifact) => artifact.name === 'model.json'));
    for (const artifact of summary.artifacts) {
      assert.equal(artifact.status, 'downloaded');
      assert.equal(sha256(artifact.path), artifact.sha256);
    }

    const again = await runMp(['train', 'artifacts', runId, '--dir', dir, '--json'], { env });
    assert.deepEqual(new Set((JSON.parse(again.stdout) as ArtifactsJson).artifacts.map((artifact) => artifact.status)), new Set(['up-to-date']));

    const model = path.join(dir, 'model.json');
    const bytes = fs.readFileSync(model);
    fs.rmSync(model);
    fs.writeFileSync(`${model}.part`, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const resumed = await runMp(['train', 'artifacts', runId, '--dir', dir, '--json'], { env });
    assert.equal(resumed.code, 0, show(resumed));
    const entry = (JSON.parse(resumed.stdout) as ArtifactsJson).artifacts.find((artifact) => artifact.name === 'model.json');
    assert.equal(entry?.status, 'resumed');
    assert.deepEqual(fs.readFileSync(model), bytes);
  });

  it('mp train artifacts exits 4 for an unknown run', async () => {
    const result = await runMp(['train', 'artifacts', 'run_nope', '--dir', path.join(workDir, 'nope')], { env });
    assert.equal(result.code, 4, show(result));
    assert.match(result.stderr, /no training run run_nope/);
  });
});

type GpusJson = GpuTypesQuery['gpuTypes'];
type TemplatesJson = TrainTemplatesQuery['trainingTemplates'];
interface ArtifactsJson {
  run: string;
  dir: string;
  artifacts: { name: string; path: string; size: number; sha256: string; status: string }[];
}
