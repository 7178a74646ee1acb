import type { CombinedError } from '@urql/core';
import { errorSentence } from '../errors';

/** A failed query or mutation, as one sentence. */
export function ErrorNotice({ error }: { error: CombinedError }) {
  return (
    <p className="notice error" role="alert">
      {errorSentence(error)}
    </p>
  );
}
