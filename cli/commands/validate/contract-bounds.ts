// The bounds of the signal contract, read from the generated zod validators (through their JSON
// Schema) rather than copied from schema/contracts.graphql: when the SDL's @range changes, the
// requests mp validate generates follow.
import * as z from 'zod';
import { SignalInferenceBatchRequestSchema, SignalInferenceRequestSchema } from '../../../generated/contracts';

export interface Bounds {
  min: number;
  max: number;
}

export interface SignalBounds {
  symbolLength: Bounds;
  horizonDays: Bounds;
  featureNameLength: Bounds;
  maxFeatures: number;
  maxFeatureVector: number;
  maxCandles: number;
  batchSize: Bounds;
}

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows `properties.<name>` (and, for a nullable field, the non-null branch of `anyOf`). */
function child(node: Node, name: string, where: string): Node {
  const properties = node.properties;
  const found = isNode(properties) ? properties[name] : undefined;
  if (!isNode(found)) throw new Error(`the generated contract has no ${where}`);
  return nonNull(found);
}

function nonNull(node: Node): Node {
  if (!Array.isArray(node.anyOf)) return node;
  const branch = node.anyOf.find((option): option is Node => isNode(option) && option.type !== 'null');
  return branch ?? node;
}

function items(node: Node, where: string): Node {
  if (!isNode(node.items)) throw new Error(`the generated contract has no item type for ${where}`);
  return nonNull(node.items);
}

function bound(node: Node, key: string, where: string): number {
  const value = node[key];
  if (typeof value !== 'number') throw new Error(`the generated contract has no ${key} for ${where}`);
  return value;
}

let cached: SignalBounds | undefined;

export function signalBounds(): SignalBounds {
  if (cached) return cached;
  const request = z.toJSONSchema(SignalInferenceRequestSchema, { io: 'input' }) as unknown as Node;
  const batch = z.toJSONSchema(SignalInferenceBatchRequestSchema, { io: 'input' }) as unknown as Node;
  const symbol = child(request, 'symbol', 'SignalInferenceRequest.symbol');
  const horizon = child(request, 'horizonDays', 'SignalInferenceRequest.horizonDays');
  const features = child(request, 'features', 'SignalInferenceRequest.features');
  const featureName = child(items(features, 'features'), 'name', 'FeatureValueInput.name');
  const requests = child(batch, 'requests', 'SignalInferenceBatchRequest.requests');
  cached = {
    symbolLength: { min: bound(symbol, 'minLength', 'symbol'), max: bound(symbol, 'maxLength', 'symbol') },
    horizonDays: { min: bound(horizon, 'minimum', 'horizonDays'), max: bound(horizon, 'maximum', 'horizonDays') },
    featureNameLength: { min: bound(featureName, 'minLength', 'feature names'), max: bound(featureName, 'maxLength', 'feature names') },
    maxFeatures: bound(features, 'maxItems', 'features'),
    maxFeatureVector: bound(child(request, 'featureVector', 'SignalInferenceRequest.featureVector'), 'maxItems', 'featureVector'),
    maxCandles: bound(child(request, 'candles', 'SignalInferenceRequest.candles'), 'maxItems', 'candles'),
    batchSize: { min: bound(requests, 'minItems', 'requests'), max: bound(requests, 'maxItems', 'requests') },
  };
  return cached;
}
