/**
 * One small file per local run, `<workRoot>/.records/<runId>.json`: which server process owns the
 * run and which processes are the run's, so that a later server can end what a dead one left
 * behind. The directory is the server's alone (0700): a training program that runs as another
 * user can neither read nor forge a record.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { processId, type ProcessId } from './processes';

export interface RunRecord {
  runId: string;
  /** The server process running it: while that process lives, the run and its directory are its business. */
  owner: ProcessId;
  /** The uid the training program runs as. */
  uid: number;
  /** The training program, once started; its pid is also its process group and session id. */
  program?: ProcessId;
}

const SUFFIX = '.json';

export class RunRecords {
  constructor(private readonly dir: string) {}

  /** This server process, as records name their owner. */
  static self(): ProcessId {
    return processId(process.pid) ?? { pid: process.pid, startTime: -1 };
  }

  async write(record: RunRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(record.runId);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600 });
    await rename(tmp, file);
  }

  async read(runId: string): Promise<RunRecord | null> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(this.fileOf(runId), 'utf8'));
    } catch {
      return null;
    }
    return isRecord(parsed) && parsed.runId === runId ? parsed : null;
  }

  async remove(runId: string): Promise<void> {
    await rm(this.fileOf(runId), { force: true });
  }

  /** The run ids that have a record. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((name) => name.endsWith(SUFFIX)).map((name) => name.slice(0, -SUFFIX.length));
    } catch {
      return [];
    }
  }

  private fileOf(runId: string): string {
    return path.join(this.dir, `${runId}${SUFFIX}`);
  }
}

function isProcessId(value: unknown): value is ProcessId {
  const id = value as Partial<ProcessId> | null;
  return typeof id === 'object' && id !== null && Number.isSafeInteger(id.pid) && Number.isSafeInteger(id.startTime);
}

function isRecord(value: unknown): value is RunRecord {
  const record = value as Partial<RunRecord> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.runId === 'string' &&
    isProcessId(record.owner) &&
    Number.isSafeInteger(record.uid) &&
    (record.program === undefined || isProcessId(record.program))
  );
}
