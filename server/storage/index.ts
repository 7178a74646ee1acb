/**
 * Storage: where bytes live and how they are handed out, with no domain and no transport.
 * - `blob-store.ts`: the blob store (a local directory today; S3-compatible later), atomic puts.
 * - `url-signer.ts`: HMAC signing of a path and an expiry, and the signing secret's home.
 * - `signed-links.ts`: download and upload links to blobs, and resolving a signed path back to
 *   its blob. Modules ask for links; `server/http/` serves them.
 */
import { LocalBlobStore, type BlobStore } from './blob-store';
import { SignedLinks } from './signed-links';
import { UrlSigner, loadSigningSecret } from './url-signer';

export { FILES_PREFIX, UPLOADS_PREFIX, SignedLinks, type Links, type StoredFile } from './signed-links';
export type { BlobStore, BlobInfo } from './blob-store';

export interface Storage {
  blobs: BlobStore;
  links: SignedLinks;
}

export async function openStorage(config: { blobDir: string; dataDir: string; signingSecret?: string }): Promise<Storage> {
  const signer = new UrlSigner(await loadSigningSecret({ secret: config.signingSecret, dataDir: config.dataDir }));
  return { blobs: new LocalBlobStore(config.blobDir), links: new SignedLinks(signer) };
}
