import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configFilePath, normalizeApiUrl, readConfigFile, writeConfigFile } from '../../cli/config';
import { CliError, ExitCode } from '../../cli/errors';
import { resolveSession } from '../../cli/session';
import { sameServer } from '../../cli/server-identity';

describe('cli config', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-config-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('configFilePath', () => {
    it('uses $XDG_CONFIG_HOME/mp/config.json', () => {
      assert.equal(configFilePath({ XDG_CONFIG_HOME: '/x/conf' }), '/x/conf/mp/config.json');
    });
    it('falls back to ~/.config when XDG_CONFIG_HOME is unset or relative', () => {
      const expected = path.join(os.homedir(), '.config', 'mp', 'config.json');
      assert.equal(configFilePath({}), expected);
      assert.equal(configFilePath({ XDG_CONFIG_HOME: 'relative/dir' }), expected);
    });
  });

  describe('normalizeApiUrl', () => {
    const cases: Array<[string, string]> = [
      ['http://127.0.0.1:4000', 'http://127.0.0.1:4000/graphql'],
      ['http://127.0.0.1:4000/', 'http://127.0.0.1:4000/graphql'],
      ['http://127.0.0.1:4000/graphql', 'http://127.0.0.1:4000/graphql'],
      ['http://127.0.0.1:4000/graphql/', 'http://127.0.0.1:4000/graphql'],
      ['https://mp.example.com/api', 'https://mp.example.com/api/graphql'],
      ['  https://mp.example.com?x=1#top ', 'https://mp.example.com/graphql'],
    ];
    for (const [input, expected] of cases) {
      it(`turns "${input}" into ${expected}`, () => {
        assert.equal(normalizeApiUrl(input), expected);
      });
    }
    it('rejects what is not an http(s) URL as a usage error', () => {
      for (const bad of ['not a url', 'ftp://example.com', '']) {
        assert.throws(
          () => normalizeApiUrl(bad),
          (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.USAGE,
        );
      }
    });
  });

  describe('the config file', () => {
    it('is written with mode 0600 in a directory with mode 0700', () => {
      const file = path.join(dir, 'mp', 'config.json');
      writeConfigFile(file, { apiUrl: 'http://127.0.0.1:4000/graphql', apiKey: 'vk_secret' });
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
      assert.deepEqual(readConfigFile(file), { apiUrl: 'http://127.0.0.1:4000/graphql', apiKey: 'vk_secret' });
    });

    it('tightens the mode of an existing file and directory', () => {
      const file = path.join(dir, 'mp', 'config.json');
      fs.mkdirSync(path.dirname(file), { mode: 0o755 });
      fs.writeFileSync(file, '{}', { mode: 0o644 });
      writeConfigFile(file, { apiKey: 'vk_secret' });
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['config.json']);
    });

    it('reads as empty when it does not exist', () => {
      assert.deepEqual(readConfigFile(path.join(dir, 'missing.json')), {});
    });

    it('is reported as a CliError when it is not JSON', () => {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, '{oops');
      assert.throws(() => readConfigFile(file), CliError);
    });
  });

  describe('resolveSession', () => {
    const saved = { apiUrl: 'http://saved.example:4000/graphql', apiKey: 'vk_saved' };
    function envWithConfig(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
      writeConfigFile(path.join(dir, 'mp', 'config.json'), saved);
      return { XDG_CONFIG_HOME: dir, ...extra };
    }

    it('uses the default URL and no key when nothing is configured', () => {
      const session = resolveSession({}, { XDG_CONFIG_HOME: dir });
      assert.equal(session.apiUrl, 'http://127.0.0.1:4000/graphql');
      assert.equal(session.apiKey, undefined);
    });

    it('prefers --api-url over MP_API_URL over the config file', () => {
      const env = envWithConfig({ MP_API_URL: 'http://env.example' });
      assert.equal(resolveSession({ apiUrl: 'http://flag.example' }, env).apiUrl, 'http://flag.example/graphql');
      assert.equal(resolveSession({}, env).apiUrl, 'http://env.example/graphql');
      assert.equal(resolveSession({}, envWithConfig()).apiUrl, saved.apiUrl);
    });

    it('prefers MP_API_KEY over the saved key', () => {
      const session = resolveSession({}, envWithConfig({ MP_API_KEY: ' vk_env \n' }));
      assert.equal(session.apiKey, 'vk_env');
      assert.equal(session.apiKeySource, 'MP_API_KEY');
    });

    it('sends the saved key only to the URL it was saved for', () => {
      const env = envWithConfig();
      assert.equal(resolveSession({}, env).apiKey, 'vk_saved');
      assert.equal(resolveSession({ apiUrl: 'http://saved.example:4000' }, env).apiKey, 'vk_saved');
      assert.equal(resolveSession({ apiUrl: 'http://other.example' }, env).apiKey, undefined);
    });

    it('names the URL the saved key is for when it is not sent', () => {
      const env = envWithConfig();
      assert.equal(resolveSession({ apiUrl: 'http://other.example' }, env).keySavedFor, saved.apiUrl);
      assert.equal(resolveSession({}, env).keySavedFor, undefined);
    });
  });

  describe('sameServer', () => {
    const same: Array<[string, string]> = [
      ['http://127.0.0.1:4000', 'http://localhost:4000'],
      ['http://127.0.0.1:4000/graphql', 'http://localhost:4000/'],
      ['http://127.0.0.1:4000', 'http://[::1]:4000/graphql/'],
      ['http://127.0.0.1:4000', 'http://0.0.0.0:4000'],
      ['http://127.0.0.1:4000', 'http://127.0.1.1:4000'],
      ['http://app.localhost:4000', 'http://LOCALHOST:4000'],
      ['https://mp.example.com', 'https://MP.example.com:443/graphql'],
      ['http://mp.example.com:80/', 'http://mp.example.com'],
      ['https://mp.example.com/api', 'https://mp.example.com/api/graphql/?x=1'],
    ];
    for (const [a, b] of same) {
      it(`takes ${a} and ${b} for the same server`, () => {
        assert.ok(sameServer(a, b));
      });
    }
    const different: Array<[string, string]> = [
      ['http://127.0.0.1:4000', 'http://localhost:4001'],
      ['http://127.0.0.1:4000', 'https://127.0.0.1:4000'],
      ['http://localhost:80', 'http://localhost:4000'],
      ['https://mp.example.com', 'https://mp.example.com:8443'],
      ['https://mp.example.com', 'https://staging.mp.example.com'],
      ['https://mp.example.com/api', 'https://mp.example.com'],
      ['http://localhost.example.com:4000', 'http://localhost:4000'],
      ['http://128.0.0.1:4000', 'http://127.0.0.1:4000'],
    ];
    for (const [a, b] of different) {
      it(`takes ${a} and ${b} for different servers`, () => {
        assert.ok(!sameServer(a, b));
      });
    }
  });
});
