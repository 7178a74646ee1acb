/**
 * model.json as runpod-signal-train writes it (its src/train.ts, `ModelFile`):
 *
 *   { "format": "mp-linear-v1", "task": "SIGNAL", "featureNames": ["return_1d", ...],
 *     "weights": [0.012, ...], "bias": 0.49, "round": 3, "runId": "run_...", "trainedAt": "...", ... }
 *
 * `weights[i]` applies to the raw (0..1) feature `featureNames[i]`. Fields this endpoint does not
 * use (hyperparameters, the prediction note) are allowed and ignored.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const MODEL_FORMAT = 'mp-linear-v1';

const ModelFileSchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    task: z.literal('SIGNAL').optional(),
    featureNames: z.array(z.string().min(1).max(64)).min(1).max(512),
    weights: z.array(z.number()).min(1).max(512),
    bias: z.number(),
    round: z.number().int().nullish(),
    runId: z.string().nullish(),
    trainedAt: z.string().nullish(),
  })
  .refine((file) => file.weights.length === file.featureNames.length, {
    message: 'must have one weight per feature name',
    path: ['weights'],
  })
  .refine((file) => new Set(file.featureNames).size === file.featureNames.length, {
    message: 'must not name a feature twice',
    path: ['featureNames'],
  });

export type ModelFile = z.infer<typeof ModelFileSchema>;

/** A model, ready to predict, and what produced it. */
export interface LoadedModel {
  file: ModelFile;
  /** What responses and heartbeats carry: the file's sha256, first 12 hex digits, or "built-in". */
  version: string;
  /** For the log: where it came from and what it is. */
  description: string;
}

/** The model file cannot be served: the endpoint turns UNHEALTHY with this message. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Parses model.json's bytes; `from` names the source in messages. */
export function parseModelFile(bytes: Buffer, from: string): ModelFile {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ModelLoadError(`${from} is not JSON: ${(error as Error).message}`);
  }
  const parsed = ModelFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new ModelLoadError(`${from} is not a ${MODEL_FORMAT} model.json (as runpod-signal-train writes it): ${problems.join('; ')}`);
  }
  return parsed.data;
}

export function describeModel(file: ModelFile): string {
  const origin = [file.runId ? `run ${file.runId}` : null, file.round != null ? `round ${file.round}` : null].filter(Boolean).join(', ');
  return `linear model on ${file.featureNames.length} features${origin ? ` (${origin})` : ''}`;
}
