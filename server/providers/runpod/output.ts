import { parseMetricLine, type ProducedArtifact } from '../provider';

/**
 * The worker-side contract: what the RunPod handler in a training template
 * (cli/templates/runpod-signal-train) sends back, and what the provider makes of it.
 *
 * The handler receives `{ id, input }` with `input` = `{ runId, task, round, files: [{ name,
 * kind, sha256, sizeBytes, url }], hyperparameters, gpuType, artifactUploadUrl?, image? }`. It
 * downloads the files (verifying sha256), runs the training program with the same environment
 * as the local provider (MP_RUN_ID, MP_DATA_DIR, MP_OUTPUT_DIR, MP_HPARAMS), and is a
 * *generator* handler: each value it yields is one `stream[i].output` of `GET /stream`.
 *
 * Yielded values (streamed outputs):
 * - `{ line: "...", stream: "stdout" | "stderr" }`: one line the program printed. `stream` may
 *   be omitted (stdout). A `line` holding several lines (`\n`) is split.
 * - `{ mp: "metric", name, step, value }`: a metric (the parsed form of the metric line the
 *   program printed). It becomes a metric AND a stdout log line (its JSON), exactly as the same
 *   line printed under the local provider does.
 * - `{ artifacts: [{ name, sizeBytes, sha256, blobKey }] }`: files the handler PUT to
 *   `artifactUploadUrl` + `name` after the program exited 0 (`blobKey` is the key the upload URL
 *   stored them under). Yield it last; a later entry with the same name replaces an earlier one.
 * - An array of the above: a batch, taken in order (to send many lines in one output).
 * - Also accepted: a plain string (split into stdout lines; a line that is a metric line also
 *   becomes a metric); any other value is logged as its JSON on stdout so nothing is lost.
 *   A `/stream` entry is `{ output }`; a bare value there (a plain string) is taken as the output.
 *
 * Ending: when the program exits 0 the handler returns normally (RunPod: COMPLETED). Its final
 * `output` in `/status` is read whole (interpretFinalOutput): `{ artifacts: [...], metrics:
 * { val_corr: 0.08 }, notes: "..." }` gives artifacts, metrics, and one stdout line with the JSON
 * of everything but the artifacts; with RunPod's aggregated stream it is the list of everything
 * yielded, of which the entries `/stream` did not deliver are taken as streamed outputs. When the
 * program fails the handler returns `{ error: "training program exited with code 3", exitCode:
 * 3 }` or throws (RunPod: FAILED, `error` becomes our failureReason).
 */
export interface OutputSink {
  log(stream: 'stdout' | 'stderr', line: string): void;
  metric(name: string, step: number, value: number): void;
  artifacts(artifacts: ProducedArtifact[]): void;
  /** Something in the output could not be used (e.g. a malformed artifact). */
  problem(message: string): void;
}

/** Feeds one streamed output to the sink, following the contract above. */
export function interpretStreamOutput(output: unknown, sink: OutputSink, depth = 0): void {
  if (output === null || output === undefined) return;
  if (typeof output === 'string') {
    emitLines('stdout', output, sink);
    return;
  }
  if (Array.isArray(output)) {
    if (depth > 2) {
      sink.log('stdout', safeJson(output));
      return;
    }
    for (const item of output) interpretStreamOutput(item, sink, depth + 1);
    return;
  }
  if (typeof output === 'object') {
    const record = output as Record<string, unknown>;
    if (typeof record.line === 'string') {
      emitLines(record.stream === 'stderr' ? 'stderr' : 'stdout', record.line, sink);
      return;
    }
    if (record.mp === 'metric') {
      const json = safeJson(output);
      const metric = parseMetricLine(json);
      if (metric) sink.metric(metric.name, metric.step, metric.value);
      else sink.problem(`ignored a malformed metric: ${json.slice(0, 200)}`);
      sink.log('stdout', json);
      return;
    }
    if (Array.isArray(record.artifacts)) {
      sink.artifacts(parseArtifacts(record.artifacts, sink));
      return;
    }
  }
  sink.log('stdout', typeof output === 'object' ? safeJson(output) : String(output));
}

/** What a `/stream` entry carries: `{ output }`, or a bare value (RunPod has been seen sending plain strings). */
export function streamEntryOutput(entry: unknown): unknown {
  return entry && typeof entry === 'object' && !Array.isArray(entry) && 'output' in entry ? (entry as { output: unknown }).output : entry;
}

/**
 * A COMPLETED job's final `output`, nothing dropped (see the contract above). `streamed`: how many
 * outputs `/stream` delivered to this follower since the job's submission, or null when that is not
 * known (a job followed again after a take-over: its earlier outputs went to another process).
 * `step`: the step given to metrics of a `metrics` object (the highest step seen so far).
 */
export function interpretFinalOutput(output: unknown, sink: OutputSink, streamed: number | null, step: number): void {
  if (output === null || output === undefined) return;
  if (Array.isArray(output)) {
    // The aggregated stream: entries past those already streamed came too late for /stream.
    if (streamed !== null) for (const entry of output.slice(streamed)) interpretStreamOutput(entry, sink);
    sink.artifacts(artifactsFromFinalOutput(output.slice(0, streamed ?? output.length), sink));
    return;
  }
  if (typeof output !== 'object') {
    interpretStreamOutput(output, sink);
    return;
  }
  const record = output as Record<string, unknown>;
  if (typeof record.line === 'string' || record.mp === 'metric') {
    interpretStreamOutput(record, sink);
    return;
  }
  sink.artifacts(artifactsFromFinalOutput(record, sink));
  for (const metric of finalMetrics(record.metrics, step, sink)) sink.metric(metric.name, metric.step, metric.value);
  const rest = Object.entries(record).filter(([key]) => key !== 'artifacts');
  if (rest.length > 0) sink.log('stdout', safeJson(Object.fromEntries(rest)));
}

/** `metrics: { name: value }` (at `step`) or `[{ name, step?, value }]`; malformed entries are reported. */
function finalMetrics(metrics: unknown, step: number, sink: Pick<OutputSink, 'problem'>): { name: string; step: number; value: number }[] {
  if (metrics === undefined || metrics === null) return [];
  const entries = Array.isArray(metrics)
    ? metrics
    : typeof metrics === 'object'
      ? Object.entries(metrics as Record<string, unknown>).map(([name, value]) => ({ name, value, step }))
      : [metrics];
  const found: { name: string; step: number; value: number }[] = [];
  for (const entry of entries) {
    const candidate = entry && typeof entry === 'object' ? { step, ...(entry as Record<string, unknown>), mp: 'metric' } : entry;
    const metric = parseMetricLine(safeJson(candidate));
    if (metric) found.push(metric);
    else sink.problem(`ignored a malformed metric in the job's output: ${safeJson(entry).slice(0, 200)}`);
  }
  return found;
}

/** Artifacts announced in a final `/status` output (an object or an aggregated list). */
export function artifactsFromFinalOutput(output: unknown, sink: Pick<OutputSink, 'problem'>): ProducedArtifact[] {
  const candidates = Array.isArray(output) ? output : [output];
  const found: ProducedArtifact[] = [];
  for (const candidate of candidates) {
    if (candidate && typeof candidate === 'object' && !Array.isArray(candidate)) {
      const artifacts = (candidate as { artifacts?: unknown }).artifacts;
      if (Array.isArray(artifacts)) found.push(...parseArtifacts(artifacts, sink));
    }
  }
  return found;
}

/** `{ name, sizeBytes, sha256, blobKey }` entries; malformed ones are reported and skipped. */
export function parseArtifacts(entries: unknown[], sink: Pick<OutputSink, 'problem'>): ProducedArtifact[] {
  const artifacts: ProducedArtifact[] = [];
  for (const entry of entries) {
    const artifact = entry as Partial<Record<'name' | 'sizeBytes' | 'sha256' | 'blobKey', unknown>> | null;
    const reason =
      !artifact || typeof artifact !== 'object'
        ? 'not an object'
        : typeof artifact.name !== 'string' || !isSafeRelativePath(artifact.name)
          ? 'name is not a relative file path'
          : typeof artifact.sizeBytes !== 'number' || !Number.isSafeInteger(artifact.sizeBytes) || artifact.sizeBytes < 0
            ? 'sizeBytes is not a non-negative integer'
            : typeof artifact.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(artifact.sha256)
              ? 'sha256 is not 64 hex digits'
              : typeof artifact.blobKey !== 'string' || artifact.blobKey.trim() === '' || artifact.blobKey.length > 1024
                ? 'blobKey is missing'
                : null;
    if (reason !== null || !artifact) {
      sink.problem(`ignored an artifact (${reason}): ${safeJson(entry).slice(0, 200)}`);
      continue;
    }
    artifacts.push({
      name: artifact.name as string,
      sizeBytes: artifact.sizeBytes as number,
      sha256: (artifact.sha256 as string).toLowerCase(),
      blobKey: artifact.blobKey as string,
    });
  }
  return artifacts;
}

/**
 * RunPod's `error` as one readable sentence. Handlers that throw get RunPod's JSON string
 * `{"error_type": ..., "error_message": ..., "error_traceback": ...}`; `{error: "..."}` returns
 * give the string itself.
 */
export function describeJobError(error: unknown): string | null {
  if (error === null || error === undefined || error === '') return null;
  let value: unknown = error;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (!trimmed.startsWith('{')) return cap(trimmed);
    try {
      value = JSON.parse(trimmed) as unknown;
    } catch {
      return cap(trimmed);
    }
  }
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const message = [record.error_message, record.message, record.error, record.detail].find(
      (candidate): candidate is string => typeof candidate === 'string' && candidate.trim() !== '',
    );
    if (message) return cap(typeof record.error_type === 'string' ? `${record.error_type}: ${message}` : message);
    return cap(safeJson(value));
  }
  return cap(String(value));
}

function emitLines(stream: 'stdout' | 'stderr', text: string, sink: OutputSink): void {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 1 && lines[0] === '') return;
  for (const line of lines) {
    sink.log(stream, line);
    const metric = parseMetricLine(line);
    if (metric) sink.metric(metric.name, metric.step, metric.value);
  }
}

function isSafeRelativePath(name: string): boolean {
  if (name === '' || name.length > 255 || name.startsWith('/') || name.includes('\\') || name.includes('\0')) return false;
  return name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function cap(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
