import { DomainError, type ErrorCode, type ErrorDetails } from '../domain-error';
import { maskForDisplay } from '../logger';
import { RoundInputError } from '../modules/datasets/round-builder/errors';

/** An operator action's failure as it crosses the socket, so the command exits as if it had run the action itself. */
export type WireError =
  | { kind: 'domain'; code: Exclude<ErrorCode, 'INTERNAL'>; message: string; details: ErrorDetails }
  | { kind: 'round-input'; message: string }
  | { kind: 'internal'; message: string };

/** The running server failed in a way its own log explains. */
export class RunningServerError extends Error {}

export function toWire(error: unknown): WireError {
  if (error instanceof DomainError) return { kind: 'domain', code: error.code, message: error.message, details: error.details };
  if (error instanceof RoundInputError) return { kind: 'round-input', message: error.message };
  return { kind: 'internal', message: `the running server failed: ${maskForDisplay(error instanceof Error ? error.message : String(error))} (see its log)` };
}

export function fromWire(wire: WireError): Error {
  switch (wire.kind) {
    case 'domain':
      return new DomainError(wire.code, wire.message, wire.details);
    case 'round-input':
      return new RoundInputError(wire.message);
    case 'internal':
      return new RunningServerError(wire.message);
  }
}
