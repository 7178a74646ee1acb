/**
 * `POST /v1/signal` and `POST /v1/signals`: headers, body, contract, model, answer. Bad input is
 * always a 4xx naming what is wrong (never a 5xx, never a dropped connection); only the model
 * failing is a 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SignalInferenceRequest, SignalInferenceResponse, SignalWrite } from '../contract.generated';
import { answer, toSignal } from '../inference';
import type { Log } from '../log';
import { ModelError } from '../model';
import type { EndpointState } from '../state';
import { checkSignalBatch, checkSignalRequest } from '../validation';
import { discardRest, readBody } from './body';
import { contentTypeProblem } from './request-checks';
import { type ErrorCode, type FieldError, errorBody, sendJson } from './respond';

export interface SignalRouteOptions {
  state: EndpointState;
  log: Log;
  onSignals: (signals: SignalWrite[]) => void;
}

export interface SignalRoute {
  batch: boolean;
  /** Largest body accepted, bytes. */
  limit: number;
}

/** A 400 lists at most this many fields (a batch of 500 bad requests would list thousands). */
const MAX_FIELDS = 100;

function badInput(res: ServerResponse, fields: FieldError[]): void {
  const shown = fields.slice(0, MAX_FIELDS);
  const more = fields.length - shown.length;
  const summary = shown.map((field) => `${field.path}: ${field.message}`).join('; ');
  sendJson(res, 400, errorBody('BAD_USER_INPUT', `invalid request: ${summary}${more > 0 ? `; and ${more} more` : ''}`, shown));
}

/**
 * An answer sent before the whole body was read. The rest is read and dropped (not buffered), and
 * the connection stays open meanwhile: closing it would reset a client still sending, which then
 * never sees the answer.
 */
function answerEarly(req: IncomingMessage, res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) {
  sendJson(res, status, errorBody(code, message), headers);
  discardRest(req);
}

export async function handleSignalRoute(req: IncomingMessage, res: ServerResponse, route: SignalRoute, options: SignalRouteOptions): Promise<void> {
  const { state } = options;
  const mediaProblem = contentTypeProblem(req);
  if (mediaProblem !== null) return answerEarly(req, res, 415, 'UNSUPPORTED_MEDIA_TYPE', mediaProblem);
  if (!state.enter()) {
    return answerEarly(req, res, 503, 'BUSY', `the endpoint is at capacity (${state.maxConcurrent} requests at once); retry shortly`, { 'retry-after': '1' });
  }
  try {
    const tooLarge = `the body is larger than ${route.limit / (1024 * 1024)} MB${route.batch ? '' : '; send many requests at once to POST /v1/signals'}`;
    if (/^100-continue$/i.test(req.headers.expect ?? '')) {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > route.limit) return answerEarly(req, res, 413, 'PAYLOAD_TOO_LARGE', tooLarge);
      res.writeContinue();
    }
    const body = await readBody(req, route.limit);
    if (body.kind === 'gone') return;
    if (body.kind === 'too-large') return answerEarly(req, res, 413, 'PAYLOAD_TOO_LARGE', tooLarge);
    if (body.kind === 'not-utf8') return sendJson(res, 400, errorBody('MALFORMED_JSON', 'the body is not UTF-8 text'));
    let json: unknown;
    try {
      json = JSON.parse(body.text);
    } catch (error) {
      return sendJson(res, 400, errorBody('MALFORMED_JSON', `the body is not JSON: ${(error as Error).message}`));
    }
    let requests: SignalInferenceRequest[];
    if (route.batch) {
      const checked = checkSignalBatch(json);
      if (!checked.ok) return badInput(res, checked.fields);
      requests = checked.value.requests;
    } else {
      const checked = checkSignalRequest(json);
      if (!checked.ok) return badInput(res, checked.fields);
      requests = [checked.value];
    }
    const model = state.model;
    if (model === null) {
      const why = state.reason === null ? 'the model is still loading; retry shortly' : `the endpoint is UNHEALTHY: ${state.reason}`;
      return sendJson(res, 503, errorBody('NOT_READY', why), state.reason === null ? { 'retry-after': '2' } : {});
    }
    let responses: SignalInferenceResponse[];
    try {
      responses = answer(model, requests);
    } catch (error) {
      if (!(error instanceof ModelError)) throw error;
      options.log.error(`model error: ${error.message}`);
      return sendJson(res, 500, errorBody('MODEL_ERROR', error.message));
    }
    for (const response of responses) state.recordAnswer(response.latencyMs);
    options.onSignals(requests.map((request, i) => toSignal(request, responses[i])));
    sendJson(res, 200, route.batch ? { responses } : responses[0]);
  } finally {
    state.leave();
  }
}
