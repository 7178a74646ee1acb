import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';
import type { EndpointProcess } from './dev/endpoint-process';
import { parsePort } from './dev/flags';

export interface DevArgs extends GlobalArgs {
  /** 0: any free port. */
  port: number;
}

export interface DevOptions {
  /** The project's directory; default the current one. */
  cwd?: string;
  /** Stops mp dev as Ctrl-C does; by default it listens for SIGINT and SIGTERM itself. */
  interrupt?: AbortSignal;
  /** Quiet time after a file change before the restart. */
  debounceMs?: number;
}

/** mp dev serves on the loopback interface only: the endpoint is for this machine while developing. */
export const DEV_HOST = '127.0.0.1';
/** Between SIGTERM and SIGKILL when stopping the endpoint. */
const GRACE_MS = 8000;

/** Aborts on SIGINT or SIGTERM (or when `external` aborts); release() removes the listeners. */
function stopSignal(external: AbortSignal | undefined): { signal: AbortSignal; release: () => void } {
  if (external) return { signal: external, release: () => undefined };
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

interface Running {
  child: EndpointProcess;
  /** Aborts its wait for READY. */
  health: AbortController;
}

/** The endpoint's environment: the caller's, without the vendor's API key, plus where to listen. */
function endpointEnv(env: NodeJS.ProcessEnv, port: number): NodeJS.ProcessEnv {
  const { MP_API_KEY: _key, ...rest } = env;
  return { ...rest, PORT: String(port), HOST: DEV_HOST };
}

/**
 * Runs the serving project in the current directory until Ctrl-C: starts its program on --port,
 * prints the URL once GET /health answers READY, restarts it when a file under src/ changes, and
 * keeps watching when it exits on its own. Ctrl-C stops it and exits 130.
 */
export async function run(args: DevArgs, io: Io, options: DevOptions = {}): Promise<void> {
  const path = require('node:path') as typeof import('node:path');
  const { CliError, ExitCode } = require('../errors') as typeof import('../errors');
  const { Output } = require('../output') as typeof import('../output');
  const { findServingProject } = require('./dev/project') as typeof import('./dev/project');
  const { choosePort } = require('./dev/port') as typeof import('./dev/port');
  const endpointProcess = require('./dev/endpoint-process') as typeof import('./dev/endpoint-process');
  const { waitForHealth } = require('./dev/health') as typeof import('./dev/health');
  const { watchDebounced } = require('./dev/watch') as typeof import('./dev/watch');
  const out = new Output(io, args);
  const say = (text: string) => out.status(out.paintErr('dim', `mp dev: ${text}`));

  const project = findServingProject(path.resolve(options.cwd ?? process.cwd()));
  const port = await choosePort(args.port, DEV_HOST);
  const url = `http://${DEV_HOST}:${port}`;
  const watched = `${path.relative(project.dir, project.watchDir) || '.'}/`;
  const env = endpointEnv(io.env, port);
  const stop = stopSignal(options.interrupt);

  const live: { current: Running | null } = { current: null };
  const start = () => {
    const child = new endpointProcess.EndpointProcess(project.args, project.dir, env, io);
    const health = new AbortController();
    const running: Running = { child, health };
    live.current = running;
    void waitForHealth(url, health.signal).then((outcome) => {
      if (outcome.kind === 'ready') out.success(`Ready at ${url} (model ${outcome.modelVersion ?? 'unknown'}): POST /v1/signal, POST /v1/signals, GET /health`);
      else if (outcome.kind === 'unhealthy') out.warn(`${url}/health answers UNHEALTHY: its log above says why; save a change under ${watched} to restart`);
    });
    void child.exited.then((exit) => {
      health.abort();
      if (live.current !== running || stop.signal.aborted) return;
      const how = exit.signal ? `on ${exit.signal}` : `with code ${exit.code}`;
      out.warn(`the endpoint exited ${how}; it restarts when a file under ${watched} changes`);
    });
  };

  // Restarts one at a time; changes during one lead to one more, not one each.
  let restarting: Promise<void> = Promise.resolve();
  let queued = false;
  const restart = (changed: string) => {
    if (queued || stop.signal.aborted) return;
    queued = true;
    restarting = restarting.then(async () => {
      queued = false;
      if (stop.signal.aborted) return;
      say(`${path.relative(project.dir, changed)} changed: restarting`);
      const previous = live.current;
      live.current = null;
      previous?.health.abort();
      await previous?.child.stop(GRACE_MS);
      if (!stop.signal.aborted) start();
    });
  };

  say(`running ${project.display} on port ${port}; it restarts when a file under ${watched} changes. Ctrl-C stops it.`);
  const watcher = watchDebounced(project.watchDir, options.debounceMs ?? 200, restart);
  try {
    start();
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    watcher.close();
    stop.release();
    await restarting;
    live.current?.health.abort();
    await live.current?.child.stop(GRACE_MS);
  }
  throw new CliError('stopped the endpoint', ExitCode.INTERRUPTED);
}

const devCommand: CommandModule<GlobalArgs, DevArgs> = {
  command: 'dev',
  describe: 'Run the inference endpoint in the current directory, restarting it when its code changes',
  builder: (yargs) =>
    yargs
      .option('port', {
        type: 'string',
        default: 8080,
        requiresArg: true,
        describe: 'Port to serve on (127.0.0.1); 0 picks a free one',
        coerce: parsePort,
      })
      .example('$0 dev', 'Serve on http://127.0.0.1:8080 (in a project made by `mp init --template runpod-signal-http`)')
      .example('MP_MODEL_PATH=./out/model.json $0 dev --port 0', 'Serve a trained model on a free port'),
  handler: (args) => execute(args as DevArgs, run),
};

export default devCommand;
