// The tabs GraphiQL opens with when the browser has none saved: one operation each, so ▶
// runs it without asking which. Imported by main.tsx (bundled) and by the tests.

export interface DefaultTab {
  query: string;
}

export const CATALOG_TAB: DefaultTab = {
  query: `# Welcome to the NeuroNetIQ model marketplace.
# The catalog is public: run this query with the ▶ button.
# The next tab holds a live stream (no key needed).
# Vendor operations need your API key: open Headers below and add
# {"Authorization": "Bearer vk_..."}
query Catalog {
  catalog(first: 5) {
    totalCount
    nodes { slug name task tags vendor { displayName } publishedAt }
  }
}
`,
};

export const CLOCK_TAB: DefaultTab = {
  query: `# A live stream over WebSocket: ▶ starts it, ■ stops it.
subscription Clock {
  serverTime(intervalSeconds: 1) { time sequence }
}
`,
};

export const DEFAULT_TABS: DefaultTab[] = [CATALOG_TAB, CLOCK_TAB];
