/** A local Hugging Face Hub for the download tests: `/<id>/resolve/main/<file>` on 127.0.0.1, sha256 etags, byte ranges. */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Serve `body` like the Hub does for LFS files: sha256 etag, byte ranges (`bytes=N-`), HEAD without a body. */
export function serveLfs(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { etag: `"${sha256(body)}"`, 'accept-ranges': 'bytes', ...extra };
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m) {
    const start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { ...headers, 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    res.end(req.method === 'HEAD' ? undefined : body.subarray(start));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface FakeHub {
  endpoint: string;
  /** Responses still open (hooks that never end are destroyed by the test after each case). */
  open: Set<http.ServerResponse>;
  close(): Promise<void>;
}

/**
 * Start the server. `onRequest` sees every request first (with the file name it asks for, '' when none) and returns
 * true when it answered it itself; otherwise the file from `files()` is served, or a 404.
 */
export async function startFakeHub(
  id: string,
  files: () => Record<string, Buffer>,
  onRequest: (req: http.IncomingMessage, res: http.ServerResponse, file: string) => boolean,
): Promise<FakeHub> {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = `/${id}/resolve/main/`;
    const file = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : '';
    open.add(res);
    res.on('close', () => open.delete(res));
    if (onRequest(req, res, file)) return;
    const body = file ? files()[file] : undefined;
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    serveLfs(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
