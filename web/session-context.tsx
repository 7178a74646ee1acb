import { createContext, useContext } from 'react';

/** Tells the app that the session changed (signed in or out): it starts over with a fresh GraphQL client and cache. */
export const SessionChanged = createContext<() => void>(() => undefined);

export function useSessionChanged(): () => void {
  return useContext(SessionChanged);
}
