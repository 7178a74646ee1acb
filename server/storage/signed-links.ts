import type { UrlSigner, VerifyResult } from './url-signer';

/** Signed downloads live under this path: `/files/<blob key>?expires=...&signature=...`. */
export const FILES_PREFIX = '/files/';
/** Signed uploads: `/uploads/<expires>/<signature>/<scope>/<file name>` (the signature is in the path so a job can append a name). */
export const UPLOADS_PREFIX = '/uploads/';

/** A blob as a download serves it: the route streams its bytes under `name`, with its hash as the ETag. */
export interface StoredFile {
  blobKey: string;
  /** Lowercase hex; served as the ETag. */
  sha256: string;
  sizeBytes: number;
  /** Download file name (Content-Disposition). */
  name: string;
}

/** Links for one base URL (where the client or the compute provider reaches us). */
export interface Links {
  /** A download URL for `blobKey`, valid until `expiresAt`. */
  downloadUrl(blobKey: string, expiresAt: Date): string;
  /** A URL under which a remote job PUTs files into `scope` (such as `runs/<id>`) until `expiresAt`. */
  uploadUrl(scope: string, expiresAt: Date): string;
}

export type ResolvedDownload = { ok: true; blobKey: string } | { ok: false; reason: string };

/**
 * The only place that builds and checks signed links. Domain code asks for a link to a blob
 * and never sees a path or a query; the HTTP routes hand the request back here to learn which
 * blob (or upload scope) a signed path stands for.
 */
export class SignedLinks {
  constructor(private readonly signer: UrlSigner) {}

  at(baseUrl: string): Links {
    const base = baseUrl.replace(/\/+$/, '');
    return {
      downloadUrl: (blobKey, expiresAt) => this.signer.signedUrl(base, `${FILES_PREFIX}${blobKey}`, expiresAt),
      uploadUrl: (scope, expiresAt) => {
        const query = new URLSearchParams(this.signer.sign(`${UPLOADS_PREFIX}${scope}`, expiresAt));
        return `${base}${UPLOADS_PREFIX}${query.get('expires')}/${query.get('signature')}/${scope}`;
      },
    };
  }

  /** The blob a signed download path (decoded, as signed) stands for, or why it is refused. */
  resolveDownload(pathname: string, query: URLSearchParams, now?: Date): ResolvedDownload {
    if (!pathname.startsWith(FILES_PREFIX)) return { ok: false, reason: 'not a download path' };
    const verdict = this.signer.verify(pathname, query, now);
    return verdict.ok ? { ok: true, blobKey: pathname.slice(FILES_PREFIX.length) } : verdict;
  }

  /** Whether an upload into `scope` carries a valid, unexpired signature. */
  verifyUpload(scope: string, expires: string, signature: string): VerifyResult {
    return this.signer.verify(`${UPLOADS_PREFIX}${scope}`, new URLSearchParams({ expires, signature }));
  }
}
