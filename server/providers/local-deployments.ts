import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DomainError } from '../domain-error';
import { LineSplitter } from './local/lines';
import type { DeploymentEvents, DeploymentProvider, DeploymentSpec, ProviderView, ProvisionedDeployment } from './deployment-provider';

const STOP_GRACE_MS = 5000;

interface Running {
  child: ChildProcess;
  spec: DeploymentSpec;
  events: DeploymentEvents;
  endpointUrl: string;
  /** Set while we stop or restart it ourselves: its exit is then no failure. */
  stopping: boolean;
  exited: Promise<void>;
}

/**
 * The LOCAL deployment provider: the serving template as a child process of this server on a
 * free port of 127.0.0.1, in its own process group, with an environment built from scratch (the
 * spec's, plus PATH and HOME). Its output lines become the deployment's logs; an exit we did not
 * ask for ends it as FAILED. A new environment is delivered by a restart.
 */
export class LocalDeploymentProvider implements DeploymentProvider {
  readonly name = 'LOCAL' as const;
  private readonly running = new Map<string, Running>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Deployments stopped for good: never restarted, even by an environment change already under way. */
  private readonly terminated = new Set<string>();

  async provision(spec: DeploymentSpec, events: DeploymentEvents): Promise<ProvisionedDeployment> {
    const entry = entryOf(spec.templateDir);
    const port = await freePort();
    const started = this.start(spec, events, entry, port);
    await events.provisioned(started.ref);
    return { providerRef: started.ref, endpointUrl: started.endpointUrl };
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
      await this.halt(running);
      if (this.running.get(providerRef) === running) this.running.delete(providerRef);
      if (this.terminated.has(providerRef)) return;
      const port = Number(new URL(running.endpointUrl).port);
      running.events.log('system', 'restarting with a new environment');
      this.start(spec, running.events, entryOf(spec.templateDir), port, providerRef);
    });
  }

  async terminate(providerRef: string): Promise<void> {
    this.terminated.add(providerRef);
    await this.serially(providerRef, async () => {
      const running = this.running.get(providerRef);
      if (!running) return;
      await this.halt(running);
      if (this.running.get(providerRef) === running) this.running.delete(providerRef);
    });
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

  async terminateAll(): Promise<void> {
    await Promise.all(this.refs().map((ref) => this.terminate(ref)));
  }

  private start(spec: DeploymentSpec, events: DeploymentEvents, entry: string, port: number, ref?: string): { ref: string; endpointUrl: string } {
    const tsx = require.resolve('tsx/cjs');
    const child = spawn(process.execPath, ['--require', tsx, entry], {
      cwd: spec.templateDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        NODE_ENV: 'production',
        ...spec.env,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const providerRef = ref ?? `local-${spec.deploymentId}`;
    const endpointUrl = `http://127.0.0.1:${port}`;
    const forward = (stream: 'stdout' | 'stderr') => {
      const lines = new LineSplitter(16 * 1024, (line) => events.log(stream, line));
      child[stream]!.on('data', (chunk: Buffer) => lines.push(chunk));
      child[stream]!.on('end', () => lines.end());
    };
    forward('stdout');
    forward('stderr');
    const running: Running = {
      child,
      spec,
      events,
      endpointUrl,
      stopping: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    child.once('exit', (code, signal) => {
      if (this.running.get(providerRef) === running) this.running.delete(providerRef);
      if (running.stopping) return;
      const how = signal ? `killed by signal ${signal}` : `exited with code ${code}`;
      events.ended({ status: 'FAILED', endpointUrl: null, reason: `the endpoint process ${how}` });
    });
    child.once('error', (error) => {
      if (!running.stopping) events.ended({ status: 'FAILED', endpointUrl: null, reason: `the endpoint process could not start: ${error.message}` });
    });
    this.running.set(providerRef, running);
    return { ref: providerRef, endpointUrl };
  }

  private async halt(running: Running): Promise<void> {
    running.stopping = true;
    if (running.child.exitCode !== null || running.child.signalCode !== null) return;
    const group = (signal: NodeJS.Signals) => {
      try {
        process.kill(-running.child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    group('SIGTERM');
    const killer = setTimeout(() => group('SIGKILL'), STOP_GRACE_MS);
    await running.exited;
    clearTimeout(killer);
  }
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
