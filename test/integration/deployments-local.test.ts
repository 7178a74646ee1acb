import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresDatabase, postGraphQL, usingPostgres } from '../helpers/server';
import { runServerCommand, startServerProcess, type RunningServer } from '../helpers/server-process';
import { eventually, isRunning, killQuietly, procStat } from '../helpers/processes';
import { localRunUser, resolveRunUser } from '../../server/providers/local/run-user';
import { templatesDir } from '../../server/modules/training/templates';
import { TestCreateDeploymentDocument, TestDeploymentsDocument, TestStopDeploymentDocument } from '../../generated/test-operations';

/**
 * A serving template that reports on itself: once listening it writes <probe>/<deployment id>.json
 * (its pid, parent, uid, HOME and what it read of MP_MODEL_PATH). On SIGTERM it writes <id>.term,
 * then waits up to 3 s until as many endpoints as <probe>/expected says have one too, writes
 * <id>.saw with how many it saw, and exits: endpoints stopped one after another each see only
 * their own.
 */
function probeTemplate(probeDir: string): string {
  return `
const fs = require('fs'), path = require('path'), http = require('http');
const probe = ${JSON.stringify(probeDir)};
const id = process.env.MP_DEPLOYMENT_ID;
function write(name, value) {
  const file = path.join(probe, name);
  fs.writeFileSync(file + '.' + process.pid + '.tmp', JSON.stringify(value));
  fs.renameSync(file + '.' + process.pid + '.tmp', file);
}
const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"READY"}'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  let model;
  try { model = fs.readFileSync(process.env.MP_MODEL_PATH, 'utf8'); } catch (error) { model = 'unreadable: ' + error.code; }
  write(id + '.json', { pid: process.pid, ppid: process.ppid, uid: process.getuid(), home: process.env.HOME, modelPath: process.env.MP_MODEL_PATH, model });
});
process.on('SIGTERM', () => {
  write(id + '.term', {});
  let expected = 1;
  try { expected = Number(fs.readFileSync(path.join(probe, 'expected'), 'utf8')); } catch {}
  const started = Date.now();
  setInterval(() => {
    const seen = fs.readdirSync(probe).filter((name) => name.endsWith('.term')).length;
    if (seen >= expected || Date.now() - started > 3000) {
      write(id + '.saw', { seen });
      process.exit(0);
    }
  }, 20);
});
`;
}

interface Probe {
  pid: number;
  ppid: number;
  uid: number;
  home: string;
  modelPath: string;
  model: string;
}

/** LOCAL deployments in a real server process: who runs them, what they may read, and how they end with the server. */
describe(`LOCAL deployments and their server process (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let dataDir: string;
  let templates: string;
  let probeDir: string;
  let env: Record<string, string>;
  let apiKey: string;
  let server: RunningServer | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  const endpoints: number[] = [];

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'mp-local-deployments-'));
    // The endpoint may run as another user (nobody, when the tests run as root): it reads its template and writes its reports.
    templates = await mkdtemp(path.join(tmpdir(), 'mp-local-deployments-templates-'));
    await chmod(templates, 0o755);
    probeDir = await mkdtemp(path.join(tmpdir(), 'mp-local-deployments-probe-'));
    await chmod(probeDir, 0o777);
    const template = path.join(templates, 'runpod-signal-http');
    await mkdir(path.join(template, 'src'), { recursive: true });
    await writeFile(path.join(template, 'package.json'), JSON.stringify({ name: 'probe-endpoint', mp: { entry: 'src/server.js' } }));
    await writeFile(path.join(template, 'src', 'server.js'), probeTemplate(probeDir));
    await mkdir(path.join(dataDir, 'models'), { recursive: true });
    await writeFile(path.join(dataDir, 'models', 'model.json'), '{"weights":[1,2,3]}');
    env = { MP_DATA_DIR: dataDir, MP_TEMPLATES_DIR: templates, MP_LOCAL_DEPLOYMENTS_PER_VENDOR: '4' };
    if (usingPostgres) {
      const created = await createPostgresDatabase();
      dropDatabase = created.drop;
      Object.assign(env, { DATABASE_URL: created.url });
      const migrated = await runServerCommand(['migrate'], env);
      assert.equal(migrated.code, 0, migrated.stderr);
    }
    const created = await runServerCommand(['vendor', 'create', '--name', 'Endpoint Lab', '--email', 'e@example.com', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    apiKey = (JSON.parse(created.stdout) as { apiKey: string }).apiKey;
  });

  after(async () => {
    for (const pid of endpoints) killQuietly(pid);
    if (server && server.child.exitCode === null) await server.stop('SIGKILL');
    await dropDatabase?.();
    await rm(dataDir, { recursive: true, force: true });
    await rm(templates, { recursive: true, force: true });
    await rm(probeDir, { recursive: true, force: true });
  });

  async function deploy(name: string): Promise<{ id: string; probe: Probe }> {
    const created = await postGraphQL(
      server!.graphqlUrl,
      TestCreateDeploymentDocument,
      { input: { name, model: { path: path.join(dataDir, 'models', 'model.json') } } },
      apiKey,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const id = created.data!.createDeployment.deployment.id;
    const report = path.join(probeDir, `${id}.json`);
    assert.ok(await eventually(() => existsSync(report), 30_000), `the endpoint wrote ${report}\n${server!.output()}`);
    const probe = JSON.parse(readFileSync(report, 'utf8')) as Probe;
    endpoints.push(probe.pid);
    return { id, probe };
  }

  async function statuses(): Promise<Map<string, string>> {
    const listed = await postGraphQL(server!.graphqlUrl, TestDeploymentsDocument, {}, apiKey);
    assert.equal(listed.errors, undefined, JSON.stringify(listed.errors));
    return new Map(listed.data!.deployments.nodes.map((node) => [node.id, node.status]));
  }

  it("runs the endpoint under a supervisor as local training's user, at home in a directory of its own with its own copy of the model, and ends it with a SIGKILLed server", async () => {
    server = await startServerProcess(env);
    const { id, probe } = await deploy('probe-one');

    const user = localRunUser(undefined, [templates, templatesDir(), process.execPath, require.resolve('tsx/cjs')]);
    assert.equal(probe.uid, user.name ? resolveRunUser(user.name).uid : process.getuid!(), 'it runs as the user local training programs run as');
    assert.notEqual(probe.ppid, server.child.pid, "it is its supervisor's child, not the server's");
    assert.equal(procStat(probe.ppid)?.ppid, server.child.pid, "and the supervisor is the server's");
    const workDir = path.join(dataDir, 'runs', '.deployments', id);
    assert.equal(probe.home, workDir);
    assert.equal(probe.modelPath, path.join(workDir, 'model.json'), 'it reads a copy, not the models directory');
    assert.equal(probe.model, '{"weights":[1,2,3]}');

    await server.stop('SIGKILL');
    assert.ok(await eventually(() => !isRunning(probe.pid)), 'the endpoint died with its server');
    assert.ok(existsSync(workDir), 'its directory outlives the crash');
    server = await startServerProcess(env);
    assert.ok(await eventually(() => !existsSync(workDir)), 'the next server removes the directory the dead one left');
  });

  it("refuses a deployment over the vendor's LOCAL quota, naming the setting, until one is stopped", async () => {
    if (!server || server.child.exitCode !== null) server = await startServerProcess(env);
    const live = [...(await statuses())].filter(([, status]) => !['STOPPED', 'FAILED'].includes(status));
    // The crashed server's deployment counts until its lease lapses: stop it (its owner is gone, so only the row changes).
    for (const [id] of live) await postGraphQL(server.graphqlUrl, TestStopDeploymentDocument, { id }, apiKey);
    const made = [];
    for (let i = 0; i < 4; i += 1) made.push(await deploy(`quota-${i}`));
    const over = await postGraphQL(server.graphqlUrl, TestCreateDeploymentDocument, { input: { name: 'quota-over' } }, apiKey);
    assert.equal(over.errors?.[0]?.extensions?.code, 'PRECONDITION_FAILED');
    assert.match(
      over.errors![0].message,
      /you have 4 LOCAL deployments running, the most this server allows \(MP_LOCAL_DEPLOYMENTS_PER_VENDOR=4\): stop one first/,
    );
    const stopped = await postGraphQL(server.graphqlUrl, TestStopDeploymentDocument, { id: made[0].id }, apiKey);
    assert.equal(stopped.data?.stopDeployment.status, 'STOPPED', JSON.stringify(stopped.errors));
    await deploy('quota-after-stop');
  });

  it('stops its endpoints together at a graceful shutdown, and records each as STOPPED', async () => {
    if (!server || server.child.exitCode !== null) server = await startServerProcess(env);
    const live = [...(await statuses())].filter(([, status]) => !['STOPPED', 'FAILED'].includes(status)).map(([id]) => id);
    assert.equal(live.length, 4, 'the previous test left 4 running');
    for (const name of readdirSync(probeDir)) if (name.endsWith('.term') || name.endsWith('.saw')) await rm(path.join(probeDir, name));
    await writeFile(path.join(probeDir, 'expected'), String(live.length));

    const stopped = await server.stop('SIGTERM');
    assert.equal(stopped.code, 0, server.output());
    for (const id of live) {
      const saw = JSON.parse(readFileSync(path.join(probeDir, `${id}.saw`), 'utf8')) as { seen: number };
      assert.equal(saw.seen, live.length, `${id} was still running when the others got SIGTERM`);
    }
    server = await startServerProcess(env);
    const after = await statuses();
    for (const id of live) assert.equal(after.get(id), 'STOPPED', id);
  });
});
