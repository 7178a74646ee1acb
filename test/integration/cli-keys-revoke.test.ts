import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { run as keysRevoke } from '../../cli/commands/keys/revoke';
import { ExitCode } from '../../cli/errors';
import { ApiKeysDocument, CreateApiKeyDocument } from '../../generated/cli-operations';
import { BufferedOutput, expectCliError, inProcessIo } from '../helpers/cli-fakes';
import { startTestServer, type TestServer } from '../helpers/server';

/** A terminal's stderr: readline needs a real stream to write its prompt to. */
class TerminalOutput extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('mp keys revoke on a terminal', function () {
  this.timeout(60_000);
  let server: TestServer;
  let vendorKey: string;
  let stdout: BufferedOutput;
  let stderr: TerminalOutput;

  before(async () => {
    server = await startTestServer();
    vendorKey = (await server.createVendor('Revoking Vendor')).apiKey;
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(() => {
    stdout = new BufferedOutput();
    stderr = new TerminalOutput();
  });

  const args = (id: string) => ({ id, yes: false, json: false, verbose: false, color: false });
  /** A terminal on which the user types `answer`. */
  const terminal = (answer: string) =>
    inProcessIo(stdout, stderr, { MP_API_KEY: vendorKey, MP_API_URL: server.graphqlUrl, XDG_CONFIG_HOME: '/nonexistent' }, { text: answer, tty: true });

  async function createKey(name: string): Promise<string> {
    const created = await server.graphql(CreateApiKeyDocument, { input: { name } }, vendorKey);
    const id = created.data?.createApiKey.apiKey.id;
    assert.ok(id, JSON.stringify(created.errors));
    return id;
  }

  async function statusOf(id: string): Promise<string | undefined> {
    const keys = await server.graphql(ApiKeysDocument, { first: 100, includeRevoked: true }, vendorKey);
    return keys.data?.apiKeys.nodes.find((key) => key.id === id)?.status;
  }

  it('says an unknown key is not there (exit 4) without asking first', async () => {
    const error = await expectCliError(keysRevoke(args('key_0000000000000000'), terminal('y\n')), ExitCode.NOT_FOUND);
    assert.equal(error.message, 'no API key key_0000000000000000 among yours');
    assert.equal(error.hint, 'See `mp keys list --all` for their ids.');
    assert.doesNotMatch(stderr.text, /Revoke API key/);
  });

  it('names the key in the question, and keeps it when the answer is no', async () => {
    const id = await createKey('kept');
    await keysRevoke(args(id), terminal('n\n'));
    assert.match(stderr.text, new RegExp(`Revoke API key "kept" \\(${id}, vk_[A-Za-z0-9]+_…\\)\\? It stops working at once\\. \\[y/N\\]`));
    assert.match(stderr.text, /Cancelled: the key was not revoked\./);
    assert.equal(await statusOf(id), 'ACTIVE');
  });

  it('revokes it when the answer is yes, and then says it is already revoked without asking', async () => {
    const id = await createKey('gone');
    await keysRevoke(args(id), terminal('y\n'));
    assert.match(stdout.text, new RegExp(`Revoked API key "gone" \\(${id}`));
    assert.equal(await statusOf(id), 'REVOKED');

    stderr.text = '';
    await keysRevoke(args(id), terminal('y\n'));
    assert.equal(stderr.text, `API key "gone" (${id}) is already revoked: nothing to do.\n`);
  });
});
