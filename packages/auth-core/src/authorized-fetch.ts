import type { Protocol } from './protocols/protocol.js';

const MAX_REDIRECTS = 20;

/**
 * Sends `request` with the token, following redirects by hand so the token only ever goes to
 * the protocol's origin, whatever `fetch` implementation is in use. A 307/308 that would have to
 * resend a request body is returned to the caller instead.
 */
export async function sendAuthorized(
  fetchImpl: typeof globalThis.fetch,
  protocol: Pick<Protocol<unknown>, 'origin' | 'authorize'>,
  request: Request,
  accessToken: string,
): Promise<Response> {
  const follow = request.redirect === 'follow';
  let url = request.url;
  let method = request.method;
  let body: Request['body'] | undefined = request.body;
  let dropContentType = false;
  for (let hop = 0; ; hop++) {
    const headers = new Headers(request.headers);
    if (dropContentType) headers.delete('content-type');
    if (new URL(url).origin === protocol.origin) protocol.authorize(headers, accessToken);
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers,
      body: body ?? null,
      redirect: 'manual',
      signal: request.signal,
    };
    if (body) init.duplex = 'half';
    const response = await fetchImpl(url, init);
    const location = response.headers.get('location');
    if (!follow || !location || !isRedirect(response.status)) return response;
    if (hop === MAX_REDIRECTS) return response;
    const keepsBody = response.status === 307 || response.status === 308;
    if (keepsBody && body) return response; // a streamed body cannot be sent twice
    await response.body?.cancel();
    url = new URL(location, url).href;
    if (!keepsBody && method !== 'GET' && method !== 'HEAD') {
      method = 'GET';
      body = undefined;
      dropContentType = true;
    }
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
