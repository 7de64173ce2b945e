import { createUpstreamClient, type TokenKeeper } from '@tokenkeeper/auth-core';
import type { OAuth2Credentials } from '../options.js';
import type { OAuth2Protocol } from '../protocol.js';
import { TestBrowser } from './browser.js';

export const REDIRECT_URI = 'http://127.0.0.1/callback';

/**
 * Connects a session without an app: the protocol's authorization request, the provider's
 * sign-in and consent pages through the test browser, then the callback's code into
 * `keeper.login`, as the connect routes do.
 */
export async function connect(keeper: TokenKeeper<OAuth2Credentials>, protocol: OAuth2Protocol, key: string, account = 'ada') {
  const client = createUpstreamClient({ fetch: globalThis.fetch, timeoutMs: 10_000, maxBodyBytes: 1 << 20, now: Date.now });
  const request = await protocol.authorizationRequest(client, REDIRECT_URI);
  const visit = await new TestBrowser(account).open(request.url.href, { stopAt: (url) => url.href.startsWith(`${REDIRECT_URI}?`) });
  if (!visit.stoppedAt) throw new Error(`the provider did not send the browser back: ${visit.status} ${visit.body.slice(0, 200)}`);
  const credentials = await protocol.callbackCredentials(client, new URL(visit.stoppedAt).searchParams, {
    state: request.state,
    codeVerifier: request.codeVerifier,
    redirectUri: REDIRECT_URI,
    nonce: request.nonce,
  });
  return keeper.login(key, credentials);
}
