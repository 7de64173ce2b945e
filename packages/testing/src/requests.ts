import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** One request a fake server received. */
export interface ReceivedRequest {
  method: string;
  /** Path with query string, as sent. */
  path: string;
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** Every request header (lower-case names), to check that no token travelled in another header. */
  headers: IncomingHttpHeaders;
  /** When it arrived, in epoch ms on the server's `clock` (without skew). */
  at: number;
}

const MAX_RECORDED_REQUESTS = 10_000;

/** An append-only log of the last {@link MAX_RECORDED_REQUESTS} requests. */
export class RecordedRequests {
  readonly list: ReceivedRequest[] = [];

  add(req: IncomingMessage, at: number): void {
    this.list.push({
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      headers: { ...req.headers },
      at,
    });
    if (this.list.length > MAX_RECORDED_REQUESTS) this.list.splice(0, this.list.length - MAX_RECORDED_REQUESTS);
  }
}
