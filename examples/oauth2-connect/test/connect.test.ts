/**
 * The example as a user runs it: the app from src/main.ts, oidc-provider as the provider, a
 * browser stand-in that clicks "Connect", signs in and lands back connected.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from '../../../packages/oauth2/test/support/browser.js';
import { SECRET, startProvider, type TestProvider } from '../../../packages/oauth2/test/support/provider.js';

let provider: TestProvider;
let url: string;
let close: () => Promise<void>;

beforeAll(async () => {
  provider = await startProvider();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  Object.assign(process.env, {
    PUBLIC_URL: url,
    PORT: String(port),
    OAUTH_ISSUER: provider.issuer,
    API_URL: provider.api,
    CLIENT_ID: 'basic-client',
    CLIENT_SECRET: SECRET,
    CONNECT_SECRET: 'the-example-connect-secret-of-32-chars',
    COOKIE_SECRET: 'the-example-cookie-secret-of-32-chars!',
  });
  const { server } = await import('../src/main.js');
  await new Promise((resolve) => server.once('listening', resolve));
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await close?.();
  await provider.close();
});

describe('examples/oauth2-connect', () => {
  it('offers Connect, signs the user in at the provider, lands back connected, calls the API as them, and logs out', async () => {
    const browser = new TestBrowser('ada');

    const home = await browser.open(`${url}/`);
    expect(home.body).toBe('<a href="/connect?returnTo=/me">Connect</a>');

    const connected = await browser.open(`${url}/connect?returnTo=/me`);
    expect(connected.status).toBe(200);
    expect(JSON.parse(connected.body)).toMatchObject({ sub: 'ada', clientId: 'basic-client' });
    expect((await browser.open(`${url}/`)).body).toBe('<p>Connected as ada</p>');

    const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const logout = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(logout.status).toBe(303);
    expect(provider.tokenCalls).toEqual({ authorization_code: 1 });
    expect((await browser.open(`${url}/me`)).status).toBe(401);
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
