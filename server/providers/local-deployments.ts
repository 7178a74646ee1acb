import { createServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DomainError } from '../domain-error';
import { LineSplitter } from './local/lines';
import { resolveRunUser, unreachableBy, type RunUser } from './local/run-user';
import { supervise, type ProgramEnd, type SupervisedProgram } from './local/supervised';
import { DeploymentWorkDirs } from './local/deployment-work-dirs';
import type { DeploymentEvents, DeploymentProvider, DeploymentSpec, ProviderView, ProvisionedDeployment } from './deployment-provider';

export interface LocalDeploymentOptions {
  /** MP_DATA_DIR/runs, shared with local training: deployments keep their directories in `<workRoot>/.deployments`. */
  workRoot: string;
  /** Who the endpoints run as (MP_LOCAL_RUN_USER, as local training programs); unset: the server's own user. */
  runUser?: string;
  /** Between SIGTERM and SIGKILL when an endpoint is stopped, or its server goes away. */
  killGraceMs?: number;
}

interface Running {
  program: SupervisedProgram;
  spec: DeploymentSpec;
  events: DeploymentEvents;
  endpointUrl: string;
  /** Set while we stop or restart it ourselves: its exit is then no failure. */
  stopping: boolean;
  ended: Promise<ProgramEnd>;
}

/**
 * The LOCAL deployment provider: the serving template as a child of this server on a free port of
 * 127.0.0.1. It runs under the supervisor local training uses (local/supervisor.ts), so it ends
 * with its server however that ends, SIGKILL included, in a process group and session of its own,
 * as MP_LOCAL_RUN_USER when the server runs as root, with an environment built from scratch (the
 * spec's, plus PATH, and HOME in a working directory of its own that holds its copy of a model
 * file). Its output lines become the deployment's logs; an exit we did not ask for ends it as
 * FAILED. A new environment is delivered by a restart.
 */
export class LocalDeploymentProvider implements DeploymentProvider {
  readonly name = 'LOCAL' as const;
  private readonly running = new Map<string, Running>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Deployments stopped for good: never restarted, even by an environment change already under way. */
  private readonly terminated = new Set<string>();
  private readonly runAs: RunUser | undefined;
  private readonly killGraceMs: number;
  private readonly dirs: DeploymentWorkDirs;

  constructor(options: LocalDeploymentOptions) {
    this.killGraceMs = options.killGraceMs ?? 5000;
    const user = options.runUser === undefined ? undefined : resolveRunUser(options.runUser);
    const own = process.getuid?.() ?? -1;
    if (user && user.uid !== own) {
      if (own !== 0)
        throw new RangeError(`local deployments can run as ${user.name} (uid ${user.uid}) only when the server runs as root; it runs as uid ${own}`);
      this.runAs = user;
    }
    this.dirs = new DeploymentWorkDirs(options.workRoot, this.runAs);
  }

  async provision(spec: DeploymentSpec, events: DeploymentEvents): Promise<ProvisionedDeployment> {
    const entry = entryOf(spec.templateDir);
    this.assertReadable(entry, 'its server entry');
    this.assertReadable(require.resolve('tsx/cjs'), 'tsx, which runs it');
    const port = await freePort();
    const started = await this.start(spec, events, entry, port);
    await events.provisioned(started.ref);
    return { providerRef: started.ref, endpointUrl: started.endpointUrl };
  }

  /** Removes what deployments of server processes that are gone left on disk; returns their ids. */
  sweep(): Promise<string[]> {
    return this.dirs.sweep();
  }

  /** The refs of deployments this process runs. */
  refs(): string[] {
    return [...this.running.keys()];
  }

  async inspect(providerRef: string): Promise<ProviderView> {
    const running = this.running.get(providerRef);
    if (!running) return { status: 'STOPPED', endpointUrl: null, reason: 'not running on this server process' };
    return { status: 'RUNNING', endpointUrl: running.endpointUrl };
  }

  async updateEnvironment(providerRef: string, env: Record<string, string>): Promise<void> {
    await this.serially(providerRef, async () => {
      const running = this.running.get(providerRef);
      if (!running || this.terminated.has(providerRef)) return;
      const spec = { ...running.spec, env: { ...running.spec.env, ...env } };
      await this.halt(running, this.killGraceMs);
      if (this.running.get(providerRef) === running) this.running.delete(providerRef);
      if (this.terminated.has(providerRef)) return;
      const port = Number(new URL(running.endpointUrl).port);
      running.events.log('system', 'restarting with a new environment');
      await this.start(spec, running.events, entryOf(spec.templateDir), port, providerRef);
    });
  }

  async terminate(providerRef: string, graceMs = this.killGraceMs): Promise<void> {
    this.terminated.add(providerRef);
    await this.serially(providerRef, async () => {
      const running = this.running.get(providerRef);
      if (running) {
        await this.halt(running, graceMs);
        if (this.running.get(providerRef) === running) this.running.delete(providerRef);
      }
      await this.dirs.remove(deploymentIdOf(providerRef));
    });
  }

  /** Every endpoint of this process, all at once; those still there after `graceMs` are SIGKILLed. */
  async terminateAll(graceMs = this.killGraceMs): Promise<void> {
    // A stop already under way waits for its own grace: with none left, nobody waits.
    if (graceMs === 0) for (const running of this.running.values()) running.program.signal('SIGKILL');
    await Promise.all(this.refs().map((ref) => this.terminate(ref, graceMs)));
  }

  /** One operation at a time per deployment: a restart and a stop never interleave. */
  private serially(providerRef: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(providerRef) ?? Promise.resolve()).then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(providerRef, settled);
    void settled.then(() => {
      if (this.queues.get(providerRef) === settled) this.queues.delete(providerRef);
    });
    return next;
  }

  private async start(
    spec: DeploymentSpec,
    events: DeploymentEvents,
    entry: string,
    port: number,
    ref?: string,
  ): Promise<{ ref: string; endpointUrl: string }> {
    const providerRef = ref ?? `local-${spec.deploymentId}`;
    const workDir = await this.dirs.prepare(spec.deploymentId);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: process.env.LANG || 'C.UTF-8',
      HOME: workDir,
      NODE_ENV: 'production',
      ...spec.env,
      PORT: String(port),
      HOST: '127.0.0.1',
    };
    // The endpoint's user may not reach the server's models directory: it reads its own copy.
    if (spec.env.MP_MODEL_PATH) env.MP_MODEL_PATH = await this.dirs.copyIn(spec.deploymentId, spec.env.MP_MODEL_PATH);
    const program = supervise(spec.deploymentId, {
      command: process.execPath,
      args: ['--require', require.resolve('tsx/cjs'), entry],
      cwd: spec.templateDir,
      env,
      uid: this.runAs?.uid,
      gid: this.runAs?.gid,
      killGraceMs: this.killGraceMs,
    });
    const endpointUrl = `http://127.0.0.1:${port}`;
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = new LineSplitter(16 * 1024, (line) => events.log(stream, line));
      program[stream].on('data', (chunk: Buffer) => lines.push(chunk));
      program[stream].on('end', () => lines.end());
    }
    const running: Running = { program, spec, events, endpointUrl, stopping: false, ended: program.ended };
    let couldNotStart = false;
    void program.started.then((start) => {
      if (!('error' in start) || running.stopping) return;
      couldNotStart = true;
      events.ended({ status: 'FAILED', endpointUrl: null, reason: `the endpoint process could not start: ${start.error}` });
    });
    void program.ended.then((end) => {
      if (this.running.get(providerRef) === running) this.running.delete(providerRef);
      if (running.stopping || couldNotStart) return;
      const how = 'lost' in end ? end.lost : end.signal ? `killed by signal ${end.signal}` : `exited with code ${end.code}`;
      events.ended({ status: 'FAILED', endpointUrl: null, reason: `the endpoint process ${how}` });
    });
    this.running.set(providerRef, running);
    return { ref: providerRef, endpointUrl };
  }

  private async halt(running: Running, graceMs: number): Promise<void> {
    running.stopping = true;
    running.program.signal('SIGTERM');
    const killer = setTimeout(() => running.program.signal('SIGKILL'), graceMs);
    await running.ended;
    clearTimeout(killer);
  }

  private assertReadable(file: string, what: string): void {
    const problem = this.runAs && unreachableBy(file, this.runAs);
    if (problem) {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `local deployments run as ${this.runAs!.name}, who cannot read ${what} (${file}): ${problem}; the operator must make it readable or set MP_LOCAL_RUN_USER`,
      );
    }
  }
}

function deploymentIdOf(providerRef: string): string {
  return providerRef.replace(/^local-/, '');
}

/** The template's server: package.json's `mp.entry` (or `main`), inside the template. */
function entryOf(templateDir: string): string {
  let declared: string | undefined;
  try {
    const manifest = JSON.parse(readFileSync(path.join(templateDir, 'package.json'), 'utf8')) as { main?: string; mp?: { entry?: string } };
    declared = manifest.mp?.entry ?? manifest.main;
  } catch {
    declared = undefined;
  }
  const entry = path.resolve(templateDir, declared ?? 'src/main.ts');
  if (!entry.startsWith(templateDir + path.sep) || !existsSync(entry)) {
    throw new DomainError('PRECONDITION_FAILED', `the serving template at ${templateDir} has no server entry (package.json mp.entry or main)`);
  }
  return entry;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
