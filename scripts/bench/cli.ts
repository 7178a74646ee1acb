/**
 * CLI wall time: `mp --version` and `mp catalog list` (compiled) vs bare `node -e 0`.
 *
 * Builds dist/ if stale and starts the compiled server (fresh embedded database, port 0)
 * for `catalog list`. Each command is spawned with child_process and timed from spawn()
 * to its exit event; 2 warm-up rounds, then 20 measured rounds, the commands taking turns
 * within each round so that noise spreads evenly over them. Every run must exit 0 with
 * the expected output. The CLI gets an empty XDG_CONFIG_HOME and MP_API_URL pointing at
 * the local server.
 *
 * Then `npm start` (_npm-start.ts): 3 fresh copies of the working tree, each started once
 * with nothing built on an empty data directory (first start) and twice more as it is
 * (second start), beside the same `node -e 0`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  below,
  childEnv,
  count,
  ensureBuilt,
  info,
  ms,
  printHeader,
  printTable,
  progress,
  ROOT,
  runMain,
  startCompiledServer,
  summarize,
  temporaryDirectory,
  verdict,
  type Target,
} from './_harness';
import { measureNpmStart } from './_npm-start';

const WARMUP_ROUNDS = 2;
const MEASURED_ROUNDS = 20;
const START_ROUNDS = 3;
const SECOND_STARTS_PER_ROUND = 2;

interface Command {
  label: string;
  args: string[];
  /** Throws when a run's output is not what the command should print. */
  check(stdout: string): void;
  target(median: number): Target;
  samples: number[];
}

interface Run {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let exited: Omit<Run, 'stdout' | 'stderr'> | undefined;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      exited = { ms: Number(process.hrtime.bigint() - started) / 1e6, code, signal };
    });
    // 'close' comes after 'exit' once the pipes are drained; the time is taken at 'exit'.
    child.once('close', () => resolve({ ...exited!, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const build = ensureBuilt();
  printHeader('cli', 'wall time of the compiled mp CLI, spawn to exit', [['build', build]]);
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  progress('starting the compiled server (fresh embedded database)');
  let nodeSamples: number[] = [];
  const server = await startCompiledServer();
  try {
    const env = childEnv({ XDG_CONFIG_HOME: temporaryDirectory('config'), MP_API_URL: server.url, NO_COLOR: '1' });
    const cli = path.join('dist', 'cli', 'mp.js'); // the bin (package.json)
    const commands: Command[] = [
      {
        label: 'node -e 0 (baseline)',
        args: ['-e', '0'],
        check: () => undefined,
        target: () => info('baseline'),
        samples: [],
      },
      {
        label: 'mp --version',
        args: [cli, '--version'],
        check: (stdout) => {
          if (stdout.trim() !== version) throw new Error(`mp --version printed ${JSON.stringify(stdout)}, expected ${version}`);
        },
        target: (median) => below(median, 150, 'median < 150 ms'),
        samples: [],
      },
      {
        label: 'mp catalog list (local server)',
        args: [cli, 'catalog', 'list'],
        check: (stdout) => {
          if (!/^slug\b/im.test(stdout) || stdout.trim().split('\n').length < 2) throw new Error(`mp catalog list printed no table:\n${stdout}`);
        },
        target: (median) => below(median, 400, 'median < 400 ms'),
        samples: [],
      },
    ];

    progress(`${WARMUP_ROUNDS} warm-up + ${MEASURED_ROUNDS} measured rounds of ${commands.length} commands`);
    for (let round = 0; round < WARMUP_ROUNDS + MEASURED_ROUNDS; round += 1) {
      for (const command of commands) {
        const result = await run(command.args, env);
        if (result.code !== 0) {
          throw new Error(`node ${command.args.join(' ')} exited with ${result.signal ?? result.code}:\n${result.stdout}${result.stderr}`);
        }
        command.check(result.stdout);
        if (round >= WARMUP_ROUNDS) command.samples.push(result.ms);
      }
    }

    nodeSamples = commands[0].samples;
    const baseline = summarize(nodeSamples).p50;
    console.log(`Each command spawned ${MEASURED_ROUNDS} times after ${WARMUP_ROUNDS} warm-ups (commands take turns); time from spawn() to exit.`);
    console.log('');
    printTable(
      ['command', 'runs', 'median', 'p90', 'min', 'max', 'median - node', 'target', ''],
      commands.map((command, index) => {
        const s = summarize(command.samples);
        const target = command.target(s.p50);
        return [command.label, count(s.n), ms(s.p50), ms(s.p90), ms(s.min), ms(s.max), index === 0 ? '-' : ms(s.p50 - baseline), target.label, verdict(target)];
      }),
      [1, 2, 3, 4, 5, 6],
    );
  } finally {
    await server.stop();
  }

  const baseline = summarize(nodeSamples).p50;
  const starts = await measureNpmStart(START_ROUNDS, SECOND_STARTS_PER_ROUND);
  console.log('');
  console.log(
    "npm start, spawn() to the banner's GraphiQL line: first in a fresh copy of the working tree (nothing built, empty data directory), second in the same copy on the same data.",
  );
  console.log('');
  const rows: [string, number[], Target][] = [
    ['node -e 0 (baseline)', nodeSamples, info('baseline')],
    ['npm start, first', starts.first, below(summarize(starts.first).p50, 15_000, 'median < 15 s')],
    ['npm start, second', starts.second, below(summarize(starts.second).p50, 3_000, 'median < 3 s')],
  ];
  printTable(
    ['command', 'runs', 'median', 'min', 'max', 'median - node', 'target', ''],
    rows.map(([label, samples, target], index) => {
      const s = summarize(samples);
      return [label, count(s.n), ms(s.p50), ms(s.min), ms(s.max), index === 0 ? '-' : ms(s.p50 - baseline), target.label, verdict(target)];
    }),
    [1, 2, 3, 4, 5],
  );
}

runMain(main);
