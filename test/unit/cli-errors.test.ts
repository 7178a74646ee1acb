import { strict as assert } from 'node:assert';
import { CliError, ExitCode, cliErrorFromGraphQL, cliErrorFromNetwork, notOurApi } from '../../cli/errors';
import type { Io, TextOutput } from '../../cli/io';
import { reportError } from '../../cli/report-error';

class Buffered implements TextOutput {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

function bufferedIo(): Io & { stderr: Buffered; stdout: Buffered } {
  return { stdout: new Buffered(), stderr: new Buffered(), stdin: process.stdin, env: {} };
}

describe('cli errors', () => {
  describe('exit codes for GraphQL error codes', () => {
    const cases: Array<[string, number]> = [
      ['UNAUTHENTICATED', 3],
      ['FORBIDDEN', 3],
      ['NOT_FOUND', 4],
      ['BAD_USER_INPUT', 5],
      ['CONFLICT', 5],
      ['PRECONDITION_FAILED', 5],
      ['RATE_LIMITED', 5],
      ['INTERNAL', 1],
      ['INTERNAL_SERVER_ERROR', 1],
      ['GRAPHQL_VALIDATION_FAILED', 1],
      ['SOMETHING_NEW', 1],
    ];
    for (const [code, exitCode] of cases) {
      it(`maps ${code} to exit ${exitCode}`, () => {
        assert.equal(cliErrorFromGraphQL({ message: 'm', extensions: { code } }, 'req-1').exitCode, exitCode);
      });
    }
    it('maps an error without a code to exit 1', () => {
      assert.equal(cliErrorFromGraphQL({ message: 'm' }, 'req-1').exitCode, ExitCode.UNEXPECTED);
    });
  });

  it('lists every invalid field of BAD_USER_INPUT', () => {
    const error = cliErrorFromGraphQL(
      {
        message: 'invalid input',
        extensions: {
          code: 'BAD_USER_INPUT',
          fields: [
            { field: 'input.name', message: 'must be 1 to 64 characters' },
            { field: 'input.expiresAt', message: 'must be in the future' },
          ],
        },
      },
      'req-1',
    );
    assert.deepEqual(error.details, ['input.name: must be 1 to 64 characters', 'input.expiresAt: must be in the future']);
  });

  it('does not repeat a field that is the whole message', () => {
    const error = cliErrorFromGraphQL(
      { message: 'name: too long', extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'name', message: 'too long' }] } },
      'r',
    );
    assert.deepEqual(error.details, []);
  });

  it('tells when to retry after RATE_LIMITED', () => {
    const error = cliErrorFromGraphQL({ message: 'too many requests', extensions: { code: 'RATE_LIMITED', retryAfter: 12 } }, 'r');
    assert.equal(error.hint, 'Retry in 12 s.');
  });

  it("shows the server's request id for INTERNAL errors, else ours", () => {
    const withServerId = cliErrorFromGraphQL({ message: 'Internal server error', extensions: { code: 'INTERNAL', requestId: 'srv-42' } }, 'cli-1');
    assert.equal(withServerId.message, 'Internal server error (request id srv-42)');
    const withoutServerId = cliErrorFromGraphQL({ message: 'Internal server error', extensions: { code: 'INTERNAL' } }, 'cli-1');
    assert.equal(withoutServerId.message, 'Internal server error (request id cli-1)');
  });

  it('keeps the server message of UNAUTHENTICATED and adds the `mp login` hint', () => {
    const error = cliErrorFromGraphQL({ message: 'API key revoked', extensions: { code: 'UNAUTHENTICATED' } }, 'r');
    assert.equal(error.message, 'API key revoked');
    assert.match(error.hint ?? '', /mp login/);
  });

  describe('network failures', () => {
    it('names a refused connection (the code undici nests in `cause`)', () => {
      const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
      const error = cliErrorFromNetwork(new TypeError('fetch failed', { cause }), 'http://127.0.0.1:9/graphql', 30_000);
      assert.equal(error.exitCode, ExitCode.UNREACHABLE);
      assert.equal(error.message, 'cannot reach http://127.0.0.1:9/graphql: connection refused');
    });
    it('finds the code inside an AggregateError (localhost tried on IPv6 and IPv4)', () => {
      const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
      const cause = new AggregateError([refused('::1:4999'), refused('127.0.0.1:4999')], 'connect failed');
      const error = cliErrorFromNetwork(new TypeError('fetch failed', { cause }), 'http://localhost:4999/graphql', 30_000);
      assert.equal(error.message, 'cannot reach http://localhost:4999/graphql: connection refused');
    });
    it('falls back to the innermost message for other failures', () => {
      const error = cliErrorFromNetwork(new TypeError('fetch failed', { cause: new Error('bad port') }), 'http://x:9/graphql', 30_000);
      assert.equal(error.message, 'cannot reach http://x:9/graphql: bad port');
    });
    it('names a DNS failure', () => {
      const cause = Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' });
      const error = cliErrorFromNetwork(new TypeError('fetch failed', { cause }), 'http://nope.invalid/graphql', 30_000);
      assert.equal(error.exitCode, ExitCode.UNREACHABLE);
      assert.match(error.message, /host not found/);
    });
    it('names a timeout', () => {
      const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      const error = cliErrorFromNetwork(timeout, 'http://x/graphql', 2_500);
      assert.equal(error.exitCode, ExitCode.UNREACHABLE);
      assert.equal(error.message, 'cannot reach http://x/graphql: no answer within 2.5 s');
    });
    it('says when a URL answers but is not the marketplace API', () => {
      const error = notOurApi('http://x/graphql', 404);
      assert.equal(error.exitCode, ExitCode.UNREACHABLE);
      assert.equal(error.message, 'no marketplace API at http://x/graphql (HTTP 404)');
    });
  });

  describe('reportError', () => {
    it('prints one `mp: <message>` line and no stack for a CliError without hint', () => {
      const io = bufferedIo();
      const code = reportError(new CliError('cannot reach http://x: connection refused', ExitCode.UNREACHABLE), io, {
        verbose: false,
        color: false,
      });
      assert.equal(code, 6);
      assert.equal(io.stderr.text, 'mp: cannot reach http://x: connection refused\n');
      assert.equal(io.stdout.text, '');
    });

    it('prints field details and the hint on their own lines', () => {
      const io = bufferedIo();
      reportError(new CliError('invalid input', ExitCode.INVALID, { details: ['name: too long'], hint: 'Try again.' }), io, {
        verbose: false,
        color: false,
      });
      assert.equal(io.stderr.text, 'mp: invalid input\n  - name: too long\nTry again.\n');
    });

    it('adds the request id and a stack trace with --verbose', () => {
      const io = bufferedIo();
      reportError(new CliError('boom', ExitCode.UNEXPECTED, { requestId: 'req-9' }), io, { verbose: true, color: false });
      assert.match(io.stderr.text, /request id: req-9/);
      assert.match(io.stderr.text, /\n\s+at /);
    });

    it('reports an unexpected exception as exit 1 without a stack unless --verbose', () => {
      const io = bufferedIo();
      assert.equal(reportError(new TypeError('x is undefined'), io, { verbose: false, color: false }), 1);
      assert.doesNotMatch(io.stderr.text, /\n\s+at /);
      assert.match(io.stderr.text, /^mp: unexpected error: x is undefined\n/);
    });
  });
});
