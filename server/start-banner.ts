import type { FirstStartAccess } from './first-start';

export interface BannerFacts {
  url: string;
  /** The data directory when the database is the embedded one. */
  embeddedIn?: string;
  firstStart: FirstStartAccess | null;
}

/** What `mp-server start` prints on stdout once it listens (plain text beside the log, never a log record: it may hold a key). */
export function startBanner({ url, embeddedIn, firstStart }: BannerFacts): string {
  const lines = [
    '',
    `Marketplace API ready on ${embeddedIn ? `the embedded database (${embeddedIn})` : 'PostgreSQL'}`,
    `  GraphQL + GraphiQL: ${url}/graphql`,
    `  Health: ${url}/healthz  ${url}/readyz  ${url}/metrics`,
  ];
  if (firstStart?.kind === 'key') {
    lines.push(
      `  First start: an API key of the demo vendor "${firstStart.vendorName}", shown only now:`,
      `    ${firstStart.apiKey}`,
      `  Try it: mp login --api-url ${url}   (paste the key), or in GraphiQL's Headers: {"Authorization": "Bearer vk_..."}`,
    );
  } else if (firstStart) {
    lines.push(`  First start: get an API key with \`${firstStart.command}\` (in another terminal; the server keeps running)`);
  }
  lines.push('', '');
  return lines.join('\n');
}
