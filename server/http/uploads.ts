import type { IncomingMessage, ServerResponse } from 'node:http';
import { UPLOADS_PREFIX, type BlobStore, type SignedLinks } from '../storage';

/**
 * Uploads from remote jobs (a RunPod training run's artifacts): `PUT <uploadUrl>/<file name>`,
 * where uploadUrl = `<base>/uploads/<expires>/<signature>/<scope>` and the scope names the
 * owner, such as `runs/run_...`. The signature (in the path, so the job can append a file name)
 * covers `/uploads/<scope>` and the expiry; the module owning the scope says whether it takes
 * uploads now; the file goes to the blob store under `<scope>/<name>`, streamed, never buffered whole.
 */
const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;
const UPLOAD_PATH = /^\/uploads\/([0-9]{1,12})\/([A-Za-z0-9_-]{43})\/([a-z]{1,20}\/[A-Za-z0-9_]{1,60})\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;

export async function serveUpload(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { links: SignedLinks; blobs: BlobStore; acceptsUpload(scope: string): Promise<boolean>; log?(error: unknown): void },
): Promise<boolean> {
  const path = (req.url ?? '').split('?')[0];
  if (!path.startsWith(UPLOADS_PREFIX)) return false;
  const reply = (status: number, body: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${body}\n`);
  if (req.method !== 'PUT') {
    res.setHeader('allow', 'PUT');
    reply(405, 'uploads take PUT');
    return true;
  }
  const match = UPLOAD_PATH.exec(path);
  if (!match) {
    reply(404, 'not an upload URL: PUT <artifactUploadUrl>/<file name> (letters, digits, . _ -)');
    return true;
  }
  const [, expires, signature, scope, name] = match;
  const verdict = deps.links.verifyUpload(scope, expires, signature);
  if (!verdict.ok) {
    reply(403, verdict.reason);
    return true;
  }
  if (!(await deps.acceptsUpload(scope))) {
    reply(409, `${scope} takes no uploads now: files are uploaded while it is running`);
    return true;
  }
  if (Number(req.headers['content-length'] ?? 0) > MAX_UPLOAD_BYTES) {
    reply(413, `an artifact may be at most ${MAX_UPLOAD_BYTES} bytes`);
    return true;
  }
  let received = 0;
  const limited = (async function* () {
    for await (const chunk of req) {
      received += (chunk as Buffer).length;
      if (received > MAX_UPLOAD_BYTES) throw new Error(`an artifact may be at most ${MAX_UPLOAD_BYTES} bytes`);
      yield chunk as Buffer;
    }
  })();
  try {
    const stored = await deps.blobs.put(`${scope}/${name}`, limited);
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ name, sizeBytes: stored.sizeBytes, sha256: stored.sha256, blobKey: stored.key }));
  } catch (error) {
    const tooBig = received > MAX_UPLOAD_BYTES;
    deps.log?.(error);
    reply(
      tooBig ? 413 : 400,
      tooBig ? `an artifact may be at most ${MAX_UPLOAD_BYTES} bytes` : 'upload failed: the body could not be stored (see the server log)',
    );
  }
  return true;
}
