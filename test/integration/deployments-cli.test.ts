import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, TEST_DATA_DIR, usingPostgres, type TestServer } from '../helpers/server';
import { runMp, spawnMp, type CliResult } from '../helpers/cli-process';
import type { DeployStatusQuery, DeploymentFieldsFragment } from '../../generated/cli-operations';
import { TestDeploymentDocument } from '../../generated/test-operations';

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function assertNoStack(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /\n\s+at /, `unexpected stack trace:\n${result.stderr}`);
}

/** What `mp deploy --json --show-token` prints. */
type CreatedJson = DeploymentFieldsFragment & { token?: string | null };
type DetailJson = DeployStatusQuery['deployment'];

/**
 * A serving template of our own under MP_TEMPLATES_DIR (with the built-in one's name): a real
 * child process that answers /health and stays up, sending no heartbeats (the tests send them
 * with `mp heartbeat`). Served a model path ending in crash.json, it exits at once instead.
 */
function writeQuietTemplate(root: string): void {
  const dir = path.join(root, 'runpod-signal-http');
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'quiet-endpoint',
      main: 'src/server.ts',
      scripts: { start: 'tsx src/server.ts' },
      mp: { kind: 'inference', entry: 'src/server.ts' },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'src', 'server.ts'),
    `import { createServer } from 'node:http';
if ((process.env.MP_MODEL_PATH ?? '').endsWith('crash.json')) {
  console.error('cannot load the model: not a model file');
  process.exit(3);
}
const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"READY"}'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on ' + process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  );
}

describe(`mp deploy against the real server (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(180_000);
  let server: TestServer;
  let home: string;
  let project: string;
  let apiKey: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-deploy-it-'));
    fs.chmodSync(home, 0o755);
    writeQuietTemplate(path.join(home, 'templates'));
    project = path.join(home, 'quiet-model');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'quiet-model', private: true, mp: { kind: 'inference', task: 'SIGNAL' } }));
    server = await startTestServer({ MP_TEMPLATES_DIR: path.join(home, 'templates') });
    apiKey = (await server.createVendor('Deploy CLI Vendor')).apiKey;
    env = { XDG_CONFIG_HOME: home, MP_API_KEY: apiKey, MP_API_URL: server.graphqlUrl };
  });
  after(async () => {
    await server?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  function mp(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
    return runMp(args, { env: { ...env, ...options.env }, cwd: options.cwd ?? project, timeoutMs: 60_000 });
  }

  async function waitForStatus(id: string, wanted: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const read = await server.graphql(TestDeploymentDocument, { id }, apiKey);
      if (read.data?.deployment.status === wanted) return;
      if (Date.now() > deadline) assert.fail(`${id} did not become ${wanted}: ${JSON.stringify(read.data?.deployment ?? read.errors)}`);
      await sleep(100);
    }
  }

  it('deploys the project in the current directory, lists it, takes a heartbeat with its token, links, rotates and stops it', async () => {
    const deployed = await mp(['deploy', '--show-token', '--json', '--heartbeat-seconds', '300']);
    assert.equal(deployed.code, 0, show(deployed));
    const created = JSON.parse(deployed.stdout) as CreatedJson;
    assert.equal(created.name, 'quiet-model', 'named after the project');
    assert.match(created.id, /^dep_/);
    assert.equal(created.status, 'PENDING');
    assert.equal(created.health, 'UNKNOWN');
    assert.equal(created.endpointUrl, null);
    assert.match(created.token ?? '', /^sit_/);
    assert.match(deployed.stderr, /shown only once/);
    const id = created.id;
    const token = created.token!;

    const listed = await mp(['deploy', 'list']);
    assert.equal(listed.code, 0, show(listed));
    assert.match(listed.stdout, /^ID\s+NAME\s+STATUS\s+HEALTH\s+LAST HEARTBEAT\s+ENDPOINT\n/);
    assert.match(listed.stdout, new RegExp(`^${id}\\s+quiet-model\\s+\\w+\\s+unknown\\s+-\\s+`, 'm'));
    const listedJson = await mp(['deploy', 'ls', '--json', '--status', 'live']);
    assert.deepEqual(
      (JSON.parse(listedJson.stdout) as DeploymentFieldsFragment[]).map((deployment) => deployment.id),
      [id],
    );

    await waitForStatus(id, 'STARTING');
    const starting = await mp(['deploy', 'status', id]);
    assert.equal(starting.code, 0, show(starting));
    assert.match(starting.stdout, /Status:\s+STARTING\n/);
    assert.match(starting.stdout, /Health:\s+UNKNOWN\n/);
    assert.match(starting.stdout, /Endpoint:\s+http:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(starting.stdout, /Last heartbeat:\s+none yet\n/);
    assert.match(
      starting.stdout,
      /History\n.*\n.*PENDING\s+UNKNOWN\s+created by the vendor\n.*PROVISIONING.*handed to LOCAL\n.*STARTING.*waiting for its first READY heartbeat\n/,
    );

    // The vendor's key is in the environment too: the heartbeat must go with the token alone
    // (the server refuses an API key for sendHeartbeat).
    const beat = await mp(['heartbeat', '--deployment', id, '--latency-ms', '3.5', '--version', 'built-in'], { env: { MP_DEPLOYMENT_TOKEN: token } });
    assert.equal(beat.code, 0, show(beat));
    assert.match(beat.stdout, new RegExp(`✓ Heartbeat READY sent for deployment ${id}: health HEALTHY`));
    assert.match(beat.stdout, /Next due:\s+.* UTC \(in \d+m/);

    const healthy = await mp(['deploy', 'status', id]);
    assert.match(healthy.stdout, /Status:\s+RUNNING\n/);
    assert.match(healthy.stdout, /Health:\s+HEALTHY\n/);
    assert.match(healthy.stdout, /Actions:\s+stop, rotate token, link infra\n/);
    assert.match(healthy.stdout, /Last heartbeat:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((<1s|\d+s) ago\): READY, 3\.5 ms, version built-in\n/);
    assert.match(healthy.stdout, /RUNNING\s+HEALTHY\s+the endpoint reported READY\n/);
    assert.match(healthy.stdout, /Last \d+ log lines?\n(.*\n)*.*listening on \d+/);
    const healthyJson = JSON.parse((await mp(['deploy', 'status', id, '--json'])).stdout) as DetailJson;
    assert.deepEqual([healthyJson.status, healthyJson.health], ['RUNNING', 'HEALTHY']);
    assert.match(healthyJson.endpointUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);

    const linked = await mp(['link-infra', '--deployment', id, '--signals-url', 'https://infra.example/api/signals/store']);
    assert.equal(linked.code, 0, show(linked));
    assert.match(linked.stdout, /its signals go to https:\/\/infra\.example\/api\/signals\/store/);
    const receipt = await mp(['heartbeat', '--json'], { env: { MP_DEPLOYMENT_TOKEN: token, MP_DEPLOYMENT_ID: id } });
    assert.equal((JSON.parse(receipt.stdout) as { signalsUrl: string }).signalsUrl, 'https://infra.example/api/signals/store');
    const unlinked = await mp(['link-infra', '--deployment', id, '--json']);
    assert.equal((JSON.parse(unlinked.stdout) as DeploymentFieldsFragment).signalsUrl, `${server.url}/api/signals/store`);
    assert.match((await mp(['link-infra', '--deployment', id])).stdout, /to the marketplace's own signal store/);

    const rotated = await mp(['deploy', 'token', 'rotate', id, '--show-token']);
    assert.equal(rotated.code, 0, show(rotated));
    const fresh = rotated.stdout.trim();
    assert.match(fresh, /^sit_\S+$/);
    assert.notEqual(fresh, token);
    assert.match(rotated.stderr, /Rotated the token of deployment/);
    const old = await mp(['heartbeat', '--deployment', id], { env: { MP_DEPLOYMENT_TOKEN: token } });
    assert.equal(old.code, 3, show(old));
    assert.match(old.stderr, /MP_DEPLOYMENT_TOKEN/);
    assertNoStack(old);
    assert.equal((await mp(['heartbeat', '--deployment', id], { env: { MP_DEPLOYMENT_TOKEN: fresh } })).code, 0);

    const stopped = await mp(['deploy', 'stop', id]);
    assert.equal(stopped.code, 0, show(stopped));
    assert.match(stopped.stdout, new RegExp(`✓ Stopped deployment ${id} "quiet-model" \\(STOPPED\\); its token no longer works`));
    const again = await mp(['deploy', 'stop', id]);
    assert.equal(again.code, 5, show(again));
    assert.match(again.stderr, /is STOPPED: STOP is not possible now/);
    const after = await mp(['heartbeat', '--deployment', id], { env: { MP_DEPLOYMENT_TOKEN: fresh } });
    assert.equal(after.code, 3, show(after));
    const final = JSON.parse((await mp(['deploy', 'status', id, '--json'])).stdout) as DetailJson;
    assert.deepEqual(final.actions, []);
    assert.equal(final.history.at(-1)?.status, 'STOPPED');
  });

  it('--wait waits over the subscription until a heartbeat makes it RUNNING and HEALTHY; status --watch follows it until it stops', async () => {
    const waiting = spawnMp(['deploy', '--name', 'waited', '--wait', '--json'], { env, cwd: home, timeoutMs: 90_000 });
    let stderr = '';
    const idSeen = new Promise<string>((resolve) => {
      waiting.child.stderr?.on('data', (chunk: string) => {
        stderr += chunk;
        const match = /Created deployment (dep_\w+)/.exec(stderr);
        if (match) resolve(match[1]);
      });
    });
    const id = await idSeen;
    await waitForStatus(id, 'STARTING');
    const rotated = await mp(['deploy', 'token', 'rotate', id, '--show-token']);
    assert.equal(rotated.code, 0, show(rotated));
    await sleep(300);
    assert.equal(waiting.child.exitCode, null, 'still waiting while it is STARTING');
    assert.equal((await mp(['heartbeat', '--deployment', id], { env: { MP_DEPLOYMENT_TOKEN: rotated.stdout.trim() } })).code, 0);
    const waited = await waiting.done;
    assert.equal(waited.code, 0, show(waited));
    const printed = JSON.parse(waited.stdout) as CreatedJson;
    assert.deepEqual([printed.id, printed.status, printed.health], [id, 'RUNNING', 'HEALTHY']);
    assert.match(printed.endpointUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal('token' in printed, false);
    assert.match(waited.stderr, new RegExp(`${id} STARTING, health UNKNOWN`));

    const watching = spawnMp(['deploy', 'status', id, '--watch', '--json'], { env, timeoutMs: 60_000 });
    let watched = '';
    const firstLine = new Promise<void>((resolve) => {
      watching.child.stdout?.on('data', (chunk: string) => {
        watched += chunk;
        if (watched.includes('\n')) resolve();
      });
    });
    await firstLine;
    // The watcher has printed the current state; give its subscription a moment to be registered.
    await sleep(500);
    assert.equal((await mp(['deploy', 'stop', id])).code, 0);
    const result = await watching.done;
    assert.equal(result.code, 0, show(result));
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; status: string; health: string; endpointUrl: string | null; reason: string });
    assert.deepEqual(
      lines.map((line) => line.status),
      ['RUNNING', 'STOPPING', 'STOPPED'],
    );
    assert.equal(lines[2].reason, 'stopped by the vendor');
    assert.match(result.stderr, new RegExp(`✓ deployment ${id} STOPPED`));
  });

  it('--wait exits 7 with the reason when the endpoint fails, and explains every refusal with its exit code', async () => {
    // A relative path names a file in the server's model directory (MP_DATA_DIR/models).
    fs.mkdirSync(path.join(TEST_DATA_DIR, 'models'), { recursive: true });
    fs.writeFileSync(path.join(TEST_DATA_DIR, 'models', 'crash.json'), '{}');
    const failed = await mp(['deploy', '--name', 'crashing', '--model', 'crash.json', '--wait']);
    assert.equal(failed.code, 7, show(failed));
    assert.match(failed.stderr, /mp: deployment dep_\w+ FAILED: the endpoint process exited with code 3/);
    assertNoStack(failed);

    const outside = await mp(['deploy'], { cwd: home });
    assert.equal(outside.code, 2, show(outside));
    assert.match(outside.stderr, /mp: mp deploy outside a serving template's project: .* has no package\.json/);
    assert.match(outside.stderr, /--name/);

    const outsideModels = await mp(['deploy', '--name', 'snooping', '--model', '/etc/passwd']);
    assert.equal(outsideModels.code, 5, show(outsideModels));
    assert.match(outsideModels.stderr, /model\.path: must be a file under .*models/);

    const runpod = await mp(['deploy', '--name', 'far', '--provider', 'runpod']);
    assert.equal(runpod.code, 5, show(runpod));
    assert.match(runpod.stderr, /- provider: RUNPOD is not configured on this server/);
    assert.match(runpod.stderr, /- image: a RUNPOD deployment needs a container image/);

    const created = JSON.parse((await mp(['deploy', '--name', 'refusals', '--json'])).stdout) as CreatedJson;
    const taken = await mp(['deploy', '--name', 'refusals']);
    assert.equal(taken.code, 5, show(taken));
    assert.match(taken.stderr, /already have a deployment named "refusals"/);
    const badLink = await mp(['link-infra', '--deployment', created.id, '--signals-url', 'ftp://infra.example/x']);
    assert.equal(badLink.code, 5, show(badLink));
    assert.match(badLink.stderr, /signalsUrl: must be an http\(s\) URL/);

    const stranger = await server.createVendor('Another Vendor');
    const hidden = await mp(['deploy', 'status', created.id], { env: { MP_API_KEY: stranger.apiKey } });
    assert.equal(hidden.code, 4, show(hidden));
    assert.match(hidden.stderr, /no deployment dep_\w+ among yours \(see mp deploy list\)/);
    assert.equal((await mp(['deploy', 'stop', created.id], { env: { MP_API_KEY: stranger.apiKey } })).code, 4);

    const noToken = await mp(['heartbeat', '--deployment', created.id]);
    assert.equal(noToken.code, 3, show(noToken));
    assert.match(noToken.stderr, /MP_DEPLOYMENT_TOKEN is not set/);
    const withKey = await mp(['heartbeat', '--deployment', created.id], { env: { MP_DEPLOYMENT_TOKEN: apiKey } });
    assert.equal(withKey.code, 3, show(withKey));

    const unreachable = await mp(['deploy', 'list'], { env: { MP_API_URL: 'http://127.0.0.1:9/graphql' } });
    assert.equal(unreachable.code, 6, show(unreachable));
    assertNoStack(unreachable);
    assert.equal((await mp(['deploy', 'stop', created.id])).code, 0);
  });
});
