/**
 * Answers validated signal requests with the loaded model, checks each answer against the
 * contract's response validator, and hands every answer on as a SignalWrite.
 */
import { performance } from 'node:perf_hooks';
import { SignalInferenceResponseSchema } from './contract.generated';
import type { SignalInferenceRequest, SignalInferenceResponse, SignalWrite } from './contract.generated';
import type { LoadedModel } from './model-file';
import { ModelError, featureValues, predict } from './model';

/** One answer per request, in order; a ModelError when the model produced something out of contract. */
export function answer(model: LoadedModel, requests: ReadonlyArray<SignalInferenceRequest>): SignalInferenceResponse[] {
  return requests.map((request) => {
    const started = performance.now();
    const { score, confidence } = predict(model.file, featureValues(model.file, request));
    const response = { score, confidence, modelVersion: model.version, latencyMs: performance.now() - started };
    const checked = SignalInferenceResponseSchema.safeParse(response);
    if (!checked.success) {
      throw new ModelError(
        `the model's answer breaks the contract: ${checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
    }
    return response;
  });
}

export function toSignal(request: SignalInferenceRequest, response: SignalInferenceResponse): SignalWrite {
  return { symbol: request.symbol, asOf: request.asOf, horizonDays: request.horizonDays, score: response.score, confidence: response.confidence };
}
