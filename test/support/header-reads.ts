import { createServer, IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

// Node builds `req.headers` in a getter on first use (20, 22 and 24 alike): counting its calls
// shows whether an adapter made Node build them for a request.
const headersGetter: () => unknown = (() => {
  const getter = Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'headers')?.get;
  if (!getter) throw new Error('IncomingMessage.prototype.headers is no getter on this Node: count header reads another way');
  return getter;
})();

/** Counts from now on how often `req.headers` is read; answers the count so far. */
export function countHeaderReads(req: IncomingMessage): () => number {
  let reads = 0;
  Object.defineProperty(req, 'headers', {
    configurable: true,
    get: () => {
      reads++;
      return headersGetter.call(req);
    },
  });
  return () => reads;
}

/**
 * Serves one `GET /reads` (with a `Cookie` header) through `listener` on a loopback port, and
 * answers the `reads` count of its JSON answer; the server is closed afterwards.
 */
export async function readsReported(listener: RequestListener): Promise<number> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await fetch(`http://127.0.0.1:${port}/reads`, { headers: { cookie: 'other=1' } });
    return ((await answer.json()) as { reads: number }).reads;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
