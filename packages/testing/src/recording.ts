import { createServer } from 'node:http';
import { jsonReply, listen, readBody, sendReply } from './http.js';
import { type ReceivedRequest, RecordedRequests } from './requests.js';

/**
 * A loopback server that answers everything with 200 `{"ok":true}` and remembers what it got; a
 * request with `?bounce=<absolute URL>` is answered 307 to that URL instead (a CDN or a hostile
 * host sending the client back, body and all).
 */
export interface RecordingServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  /** Every request received, oldest first (the last 10 000). */
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a {@link RecordingServer}: a foreign origin for proving that tokens never leave their
 * upstream. Point the fake upstream's `/redirect?to=<recording url>` at it, or call it directly,
 * then assert that `requests` holds no `authorization` header.
 *
 * @example
 * const foreign = await startRecordingServer();
 * await session.fetch(`${upstream.url}/redirect?to=${encodeURIComponent(foreign.url + '/steal')}`);
 * expect(foreign.requests.every((r) => r.authorization === undefined)).toBe(true);
 */
export async function startRecordingServer(): Promise<RecordingServer> {
  const recorded = new RecordedRequests();
  const server = createServer((req, res) => {
    recorded.add(req, Date.now());
    const bounce = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('bounce');
    const reply = bounce && URL.canParse(bounce) ? { status: 307, headers: { location: bounce }, body: '' } : jsonReply(200, { ok: true });
    void readBody(req).then(() => sendReply(res, reply, Date.now()));
  });
  const port = await listen(server);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: recorded.list,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
      return closing;
    },
  };
}
