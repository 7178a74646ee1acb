/**
 * The working directories of LOCAL deployments, `<workRoot>/.deployments/<deployment id>/`: the
 * endpoint's HOME and its copy of a model file. Beside each, `<id>.owner` (the server's alone)
 * names the server process that runs it, so that a later server removes what a dead one left. When
 * endpoints run as another user, the directory is that user's (0700) and is taken back (seal.ts)
 * before it is removed; the rest of the data directory stays closed to that user (work-root.ts).
 */
import { chmod, chown, copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DomainError } from '../../domain-error';
import { isSameProcess, processId, type ProcessId } from './processes';
import type { RunUser } from './run-user';
import { seal } from './seal';
import { enclose } from './work-root';

const OWNER_SUFFIX = '.owner';

export class DeploymentWorkDirs {
  private readonly root: string;

  constructor(
    private readonly workRoot: string,
    private readonly runAs: RunUser | undefined,
  ) {
    // A leading dot: local training's sweep of <workRoot> leaves it alone (run ids start with a letter or digit).
    this.root = path.join(workRoot, '.deployments');
  }

  /** An empty directory for the deployment, owned by the endpoint's user. */
  async prepare(deploymentId: string): Promise<string> {
    const dir = this.dirOf(deploymentId);
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    if (this.runAs) {
      await enclose(this.workRoot, this.runAs);
      await chmod(this.root, 0o711);
    }
    await this.removeDir(dir);
    const self: ProcessId = processId(process.pid) ?? { pid: process.pid, startTime: -1 };
    await writeFile(dir + OWNER_SUFFIX, JSON.stringify(self), { mode: 0o600 });
    await mkdir(dir, { mode: 0o700 });
    if (this.runAs) await chown(dir, this.runAs.uid, this.runAs.gid);
    return dir;
  }

  /** Copies a file of the server's into the deployment's directory (same name), readable by the endpoint's user; returns the copy's path. */
  async copyIn(deploymentId: string, source: string): Promise<string> {
    const target = path.join(this.dirOf(deploymentId), path.basename(source));
    try {
      await copyFile(source, target);
    } catch (error) {
      throw new DomainError('PRECONDITION_FAILED', `the model file ${source} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    await chmod(target, 0o600);
    if (this.runAs) await chown(target, this.runAs.uid, this.runAs.gid);
    return target;
  }

  async remove(deploymentId: string): Promise<void> {
    const dir = this.dirOf(deploymentId);
    await this.removeDir(dir);
    await rm(dir + OWNER_SUFFIX, { force: true });
  }

  /** Removes the directories of deployments whose server process is gone; returns their ids. */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      if (!name.endsWith(OWNER_SUFFIX)) continue;
      const deploymentId = name.slice(0, -OWNER_SUFFIX.length);
      const owner = await readFile(path.join(this.root, name), 'utf8')
        .then((text) => JSON.parse(text) as ProcessId)
        .catch(() => null);
      if (owner && isSameProcess(owner)) continue;
      await this.remove(deploymentId);
      removed.push(deploymentId);
    }
    return removed;
  }

  private dirOf(deploymentId: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(deploymentId)) throw new RangeError(`not a deployment id: ${JSON.stringify(deploymentId)}`);
    return path.join(this.root, deploymentId);
  }

  private async removeDir(dir: string): Promise<void> {
    if (this.runAs) await seal(dir, this.runAs.uid);
    await rm(dir, { recursive: true, force: true });
  }
}
