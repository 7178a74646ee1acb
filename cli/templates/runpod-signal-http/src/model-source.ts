/**
 * Loads the model to serve: model.json from MP_MODEL_PATH, or downloaded from MP_MODEL_URL, or
 * the built-in one. A file is checked against MP_MODEL_SHA256 when it is set; a mismatch is a
 * ModelLoadError (the endpoint turns UNHEALTHY and serves nothing).
 */
import { readFile, stat } from 'node:fs/promises';
import { builtInModel } from './builtin-model';
import { type ModelSourceConfig, redactUrl } from './config';
import { type LoadedModel, ModelLoadError, describeModel, parseModelFile, sha256Hex } from './model-file';
import type { Log } from './log';

/** model.json of a linear model is a few kilobytes; anything past this is not one. */
export const MAX_MODEL_BYTES = 64 * 1024 * 1024;
const DOWNLOAD_ATTEMPTS = 3;
const DOWNLOAD_TIMEOUT_MS = 60_000;

export interface LoadOptions {
  sha256: string | null;
  log: Log;
  signal?: AbortSignal;
  /** Before download attempt n (1-based) after the first, in milliseconds. */
  retryDelayMs?: (attempt: number) => number;
}

class RetryableDownloadError extends ModelLoadError {}

async function readLocal(file: string): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new ModelLoadError(`MP_MODEL_PATH ${file} is not a file`);
    if (info.size > MAX_MODEL_BYTES) throw new ModelLoadError(`MP_MODEL_PATH ${file} has ${info.size} bytes, more than a model file can (${MAX_MODEL_BYTES})`);
    return await readFile(file);
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(`cannot read MP_MODEL_PATH ${file}: ${(error as Error).message}`);
  }
}

async function downloadOnce(url: URL, signal: AbortSignal | undefined): Promise<Buffer> {
  const where = redactUrl(url);
  const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new RetryableDownloadError(`cannot download the model from ${where}: ${describeFetchError(error)}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const message = `downloading the model from ${where} answered HTTP ${response.status}`;
    throw response.status >= 500 || response.status === 429 || response.status === 408 ? new RetryableDownloadError(message) : new ModelLoadError(message);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.length;
      // Throwing out of the loop cancels the rest of the download.
      if (size > MAX_MODEL_BYTES) throw new ModelLoadError(`the model at ${where} is larger than ${MAX_MODEL_BYTES} bytes: not a model file`);
      chunks.push(Buffer.from(chunk));
    }
  } catch (error) {
    if (error instanceof ModelLoadError || signal?.aborted) throw error;
    throw new RetryableDownloadError(`the download of the model from ${where} broke off: ${describeFetchError(error)}`);
  }
  return Buffer.concat(chunks);
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return (error as Error).message;
}

async function download(url: URL, options: LoadOptions): Promise<Buffer> {
  const delay = options.retryDelayMs ?? ((attempt) => 1000 * 2 ** (attempt - 2));
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadOnce(url, options.signal);
    } catch (error) {
      if (!(error instanceof RetryableDownloadError) || attempt >= DOWNLOAD_ATTEMPTS) throw error;
      const wait = delay(attempt + 1);
      options.log.warn(`${error.message}; trying again in ${Math.round(wait / 100) / 10} s`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

export async function loadModel(source: ModelSourceConfig, options: LoadOptions): Promise<LoadedModel> {
  if (source.kind === 'built-in') {
    if (options.sha256 !== null) throw new ModelLoadError('MP_MODEL_SHA256 is set but no model file is (set MP_MODEL_PATH or MP_MODEL_URL)');
    return builtInModel();
  }
  const from = source.kind === 'path' ? `MP_MODEL_PATH ${source.path}` : `MP_MODEL_URL ${redactUrl(source.url)}`;
  if (source.kind === 'url') options.log.info(`downloading the model from ${from}`);
  const bytes = source.kind === 'path' ? await readLocal(source.path) : await download(source.url, options);
  const sha256 = sha256Hex(bytes);
  if (options.sha256 !== null && sha256 !== options.sha256) {
    throw new ModelLoadError(`${from} has sha256 ${sha256}, not ${options.sha256} as MP_MODEL_SHA256 says: refusing to serve it`);
  }
  const file = parseModelFile(bytes, from);
  return { file, version: sha256.slice(0, 12), description: `${describeModel(file)} from ${from}, ${bytes.length} bytes, sha256 ${sha256}` };
}
