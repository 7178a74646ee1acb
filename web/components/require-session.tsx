import { useEffect } from 'react';
import type { CombinedError } from '@urql/core';
import { errorCode, errorSentence } from '../errors';
import { navigate, useLocation } from '../router';

/** On a console page: when the session is missing or has ended, go to sign-in and come back here afterwards. */
export function useRequireSession(error: CombinedError | undefined): boolean {
  const { path, params } = useLocation();
  const ended = errorCode(error) === 'UNAUTHENTICATED';
  useEffect(() => {
    if (!ended || !error) return;
    const here = `${path}${params.size > 0 ? `?${params.toString()}` : ''}`;
    // Never signed in: the API's own wording (a bearer header) is for the CLI; an ended session says why it ended.
    const sentence = errorSentence(error);
    const reason = /session/i.test(sentence) ? sentence : 'Sign in with your API key to open the console.';
    navigate(`/login?next=${encodeURIComponent(here)}&reason=${encodeURIComponent(reason)}`, { replace: true });
  }, [ended, error, path, params]);
  return ended;
}
