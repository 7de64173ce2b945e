import { createServer } from 'node:http';
import { jsonReply, listen, readBody, redirectReply, sendReply } from './http.js';
import { type ReceivedRequest, RecordedRequests } from './requests.js';

/**
 * A loopback server that answers everything with 200 `{"ok":true}` and remembers what it got;
 * `/redirect?to=<absolute URL>&status=<3xx>` answers that redirect instead (status default 302).
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
    const url = new URL(req.url ?? '/', 'http://recording.invalid');
    const reply = url.pathname === '/redirect' ? redirectReply(url.searchParams) : jsonReply(200, { ok: true });
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
