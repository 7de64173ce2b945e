import type { Request, Response } from 'express';

export async function callData(req: Request, res: Response) {
  const answer = await req.upstream.fetch('/reports/call-data'); // as this user; renewed, refreshed and retried for you
  res
    .status(answer.status)
    .type(answer.headers.get('content-type') ?? 'text/plain')
    .send(await answer.text());
}
