import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresDatabase, usingPostgres } from '../helpers/server';
import { runServerCommand, startServerProcess } from '../helpers/server-process';

/** Loaded into the server process: writes its process.env when it starts, and again on SIGUSR2. */
const ENV_PROBE = `
const fs = require('fs');
const out = process.env.MP_TEST_ENV_PROBE;
fs.writeFileSync(out + '.initial', JSON.stringify(process.env));
process.on('SIGUSR2', () => fs.writeFileSync(out, JSON.stringify(process.env)));
`;

const SECRET_VARIABLES = ['MP_SIGNING_SECRET', 'RUNPOD_API_KEY', 'DATABASE_URL'];

describe(`mp-server start and its own environment (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let dir: string;
  let drop: (() => Promise<void>) | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mp-env-'));
  });

  after(async () => {
    await drop?.();
    await rm(dir, { recursive: true, force: true });
  });

  it('removes MP_SIGNING_SECRET, RUNPOD_API_KEY and DATABASE_URL from its environment once it has read them', async () => {
    const probe = path.join(dir, 'probe.js');
    await writeFile(probe, ENV_PROBE);
    const env: Record<string, string> = {
      MP_DATA_DIR: path.join(dir, 'data'),
      MP_SIGNING_SECRET: randomBytes(32).toString('base64url'),
      RUNPOD_API_KEY: `rp_${randomBytes(16).toString('hex')}`,
      MP_TEST_ENV_PROBE: path.join(dir, 'env.json'),
      NODE_OPTIONS: `--require ${probe}`,
    };
    if (usingPostgres) {
      const database = await createPostgresDatabase();
      drop = database.drop;
      env.DATABASE_URL = database.url;
      const migrated = await runServerCommand(['migrate'], { DATABASE_URL: database.url });
      assert.equal(migrated.code, 0, migrated.stderr);
    }

    const server = await startServerProcess(env);
    try {
      server.child.kill('SIGUSR2');
      for (let i = 0; i < 100 && !existsSync(env.MP_TEST_ENV_PROBE); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const initial = JSON.parse(await readFile(`${env.MP_TEST_ENV_PROBE}.initial`, 'utf8')) as Record<string, string>;
      const serving = JSON.parse(await readFile(env.MP_TEST_ENV_PROBE, 'utf8')) as Record<string, string>;
      const given = SECRET_VARIABLES.filter((name) => env[name] !== undefined);
      for (const name of given) assert.equal(initial[name], env[name], `the server was started with ${name}`);
      for (const name of SECRET_VARIABLES) assert.equal(serving[name], undefined, `${name} is still in the environment`);
      assert.equal(serving.MP_DATA_DIR, env.MP_DATA_DIR, 'the other variables stay');
    } finally {
      await server.stop('SIGKILL');
    }
  });
});
