import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';
import { CONTRACTS, DEFAULT_URL, parseBaseUrl, parseConcurrency, parseRequests, parseSeed, parseTimeoutMs, type ContractName } from './validate/flags';

export interface ValidateArgs extends GlobalArgs {
  url: string;
  contract: ContractName;
  requests: number;
  concurrency: number;
  /** Milliseconds. */
  timeout: number;
  /** Unset: a random one, printed. */
  seed?: number;
}

/** Prints the report (stdout) and throws the CliError that sets the exit code: 5 on a failed check, 6 when unreachable. */
export async function run(args: ValidateArgs, io: Io): Promise<void> {
  const { randomInt } = require('node:crypto') as typeof import('node:crypto');
  const { Output } = require('../output') as typeof import('../output');
  const { CliError, ExitCode } = require('../errors') as typeof import('../errors');
  const { validateEndpoint } = require('./validate/validate-endpoint') as typeof import('./validate/validate-endpoint');
  const render = require('./validate/render-report') as typeof import('./validate/render-report');
  const { MAX_SEED } = require('./validate/prng') as typeof import('./validate/prng');
  const out = new Output(io, args);
  const seed = args.seed ?? randomInt(0, MAX_SEED + 1);
  const settings = { baseUrl: parseBaseUrl(args.url), seed, requests: args.requests, concurrency: args.concurrency, timeoutMs: args.timeout };
  const header = render.renderHeader({ url: settings.baseUrl, contract: args.contract, seed });
  if (out.json) out.status(header);
  else out.line(header);

  const report = await validateEndpoint(settings, (check) => {
    if (!out.json) out.line(render.renderCheck(check, out.paint, settings.timeoutMs, seed));
  });
  if (out.json) out.data(render.reportJson(report, settings.timeoutMs));
  else out.line(render.renderSummary(report, out.paint));

  if (report.unreachable !== undefined) {
    throw new CliError(`cannot reach ${settings.baseUrl}: ${report.unreachable}`, ExitCode.UNREACHABLE, {
      hint: 'Is the endpoint running? `mp dev` serves one at http://127.0.0.1:8080; pass --url for another.',
    });
  }
  if (!report.ok) {
    const failedChecks = report.checks.filter((check) => check.verdict !== 'pass').map((check) => check.name);
    throw new CliError(`${failedChecks.length} of ${report.checks.length} checks failed: ${failedChecks.join(', ')}`, ExitCode.INVALID, {
      hint: `Each failing request is in the report above as a curl command; --seed ${seed} sends the same requests again.`,
    });
  }
}

const validateCommand: CommandModule<GlobalArgs, ValidateArgs> = {
  command: 'validate',
  describe: 'Check an inference endpoint against its HTTP contract: health, valid and invalid requests, content types, latency under load',
  builder: (yargs) =>
    yargs
      .option('url', {
        type: 'string',
        default: DEFAULT_URL,
        requiresArg: true,
        describe: 'Base URL of the endpoint (what `mp dev` serves by default)',
        coerce: parseBaseUrl,
      })
      .option('contract', { type: 'string', choices: CONTRACTS, default: 'signal' as ContractName, describe: 'Which contract it serves' })
      .option('requests', { type: 'number', default: 200, requiresArg: true, describe: 'Valid requests of the load check', coerce: parseRequests })
      .option('concurrency', { type: 'number', default: 10, requiresArg: true, describe: 'Requests in flight at once', coerce: parseConcurrency })
      .option('timeout', {
        type: 'string',
        default: '10s',
        requiresArg: true,
        describe: 'Bound of each request, and of the wait for READY (500ms, 10s, 2m)',
        coerce: parseTimeoutMs,
      })
      .option('seed', { type: 'number', requiresArg: true, describe: 'Generate the same requests as the run that printed this seed', coerce: parseSeed })
      .example('$0 validate', 'Check what `mp dev` serves on http://127.0.0.1:8080')
      .example('$0 validate --url https://abc123-8080.proxy.runpod.net', 'Check a deployed endpoint')
      .example('$0 validate --seed 1234567 --json', 'Replay a run; the report as one JSON object'),
  handler: (args) => execute(args as ValidateArgs, run),
};

export default validateCommand;
