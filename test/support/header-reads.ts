import { IncomingMessage } from 'node:http';

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
