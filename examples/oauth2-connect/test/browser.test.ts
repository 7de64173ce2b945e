/**
 * The example once in a real browser: headless Chromium opens the app on 127.0.0.1, clicks
 * "Connect", signs in on oidc-provider's own pages on localhost (another site, as a provider is
 * in production) and is redirected back cross-site, so the connect cookie meets the SameSite,
 * HttpOnly and Secure rules exactly as a browser enforces them: over plain HTTP, and behind HTTPS
 * (a self-signed certificate) where the cookie is `__Host-` and `Secure`. Requests for any other
 * host are refused, so nothing leaves the machine.
 *
 * Needs Chromium (Debian's `chromium` package; `CHROMIUM_PATH` to use another binary). Without
 * it the file is skipped with a warning, except in CI (`CI` set), where it fails.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type RedirectLogin, type RedirectLoginAnswer, TokenKeeper } from '@tokenkeeper/auth-core';
import { connectRoutes, tokenKeeper, tokenKeeperErrors } from '@tokenkeeper/express';
import { type OAuth2Credentials, oauth2, oauthConnect } from '@tokenkeeper/oauth2';
import { SECRET, startProvider, type TestProvider } from '@tokenkeeper/oauth2/testing';
import express from 'express';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExample, startExample } from './example.js';
import { TEST_TLS } from './tls.js';

const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium && !inCi)
  console.warn(
    `skipping the browser test: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH); CI fails instead`,
  );

/** Waits for pages and navigations: generous, for a machine shared with other test runs. */
const WAIT_MS = 20_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);

let provider: TestProvider;
let example: RunningExample;
let browser: Browser;
let context: BrowserContext | undefined;

describe.skipIf(!hasChromium && !inCi)('examples/oauth2-connect in Chromium, the provider on another site', () => {
  beforeAll(async () => {
    if (!hasChromium) throw new Error(`no Chromium at ${chromiumPath}: CI must run the browser test (.ci/run installs it with apt)`);
    provider = await startProvider({ host: 'localhost' });
    example = await startExample(provider);
    browser = await chromium.launch({ executablePath: chromiumPath, timeout: 60_000 });
  }, 90_000);
  afterAll(async () => {
    // Each step even if an earlier one failed: a browser or server left running would hold the worker open.
    const steps = [() => browser?.close(), () => example?.close(), () => provider?.close()];
    const failures: unknown[] = [];
    for (const step of steps) await step()?.catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  });

  it('connects: Connect, the provider’s sign-in and consent pages, back on /me as the user, then “Connected as” on /', async () => {
    const page = await newPage();
    await page.goto(`${example.url}/`);
    await page.getByRole('link', { name: 'Connect' }).click();
    await page.waitForURL((url) => url.origin === provider.issuer && url.pathname.startsWith('/interaction/'));
    expect(new URL(page.url()).hostname).toBe('localhost'); // another site than 127.0.0.1

    // What Chromium kept of the attempt: sent back on the cross-site redirect (Lax), out of scripts' reach.
    const attempt = await connectCookie();
    expect(attempt).toMatchObject({ domain: '127.0.0.1', path: '/', httpOnly: true, secure: false, sameSite: 'Lax' });
    expect(attempt!.expires * 1000).toBeGreaterThan(Date.now() + 590_000); // Max-Age 600, the attempt's 10 minutes

    const [me] = await Promise.all([
      page.waitForResponse((response) => response.url() === `${example.url}/me`),
      signInAndConsent(page, 'ada'),
    ]);
    expect(me.status()).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'ada', clientId: 'basic-client' });
    expect(await connectCookie()).toBeUndefined(); // the callback cleared it

    await page.goto(`${example.url}/`);
    expect(await page.locator('body').textContent()).toBe('Connected as ada');
  });

  it('connects behind HTTPS: Chromium accepts the __Host- connect cookie (Secure, Path=/, no Domain) and sends it back cross-site', async () => {
    const server = await httpsServer();
    const callback = `https://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const httpsProvider = await startProvider({ host: 'localhost', webRedirectUris: [callback] });
    const app = await startVariant(httpsProvider, { server, clientId: 'web-client' }).catch(async (error: unknown) => {
      await httpsProvider.close();
      throw error;
    });
    try {
      const page = await newPage();
      await page.goto(`${app.url}/connect?returnTo=/me`);
      await page.waitForURL((url) => url.origin === httpsProvider.issuer && url.pathname.startsWith('/interaction/'));
      expect(await connectCookie(app.url, 'tk.connect')).toBeUndefined();
      const attempt = await connectCookie(app.url, '__Host-tk.connect');
      expect(attempt).toMatchObject({ domain: '127.0.0.1', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });

      const [me] = await Promise.all([
        page.waitForResponse((response) => response.url() === `${app.url}/me`),
        signInAndConsent(page, 'ada'),
      ]);
      expect(me.status()).toBe(200);
      expect(await me.json()).toMatchObject({ sub: 'ada', clientId: 'web-client' });
      expect(await connectCookie(app.url, '__Host-tk.connect')).toBeUndefined();
      expect((await context!.cookies(app.url)).find((cookie) => cookie.name === '__Host-tk.sid')).toMatchObject({ secure: true });
    } finally {
      await app.close();
      await httpsProvider.close();
    }
  });

  it('catches a connect cookie the browser withholds on the way back: SameSite=Strict ends in 400 INVALID_CALLBACK', async () => {
    const app = await startVariant(provider, { strictConnectCookie: true });
    try {
      const page = await newPage();
      const exchanges = provider.tokenCalls.authorization_code ?? 0;
      await page.goto(`${app.url}/connect`);
      await page.waitForURL((url) => url.origin === provider.issuer && url.pathname.startsWith('/interaction/'));
      expect(await connectCookie(app.url)).toMatchObject({ sameSite: 'Strict' });

      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url().startsWith(`${app.url}/callback?`)),
        signInAndConsent(page, 'grace'),
      ]);
      expect(answer.status()).toBe(400);
      expect(await answer.json()).toEqual({
        error: 'INVALID_CALLBACK',
        message: 'no connect attempt is pending in this browser (its cookie is missing or expired)',
      });
      expect(await connectCookie(app.url)).toBeDefined(); // kept by the browser, just not sent cross-site
      expect(provider.tokenCalls.authorization_code ?? 0).toBe(exchanges); // the code was never exchanged
    } finally {
      await app.close();
    }
  });

  it('shows why the session cookie stays SameSite=Lax: with Strict, the page the way back lands on is logged out', async () => {
    const app = await startVariant(provider, { sessionSameSite: 'strict' });
    try {
      const page = await newPage();
      await page.goto(`${app.url}/connect?returnTo=/me`);
      const [me] = await Promise.all([
        page.waitForResponse((response) => response.url() === `${app.url}/me`),
        signInAndConsent(page, 'grace'),
      ]);
      expect(me.status()).toBe(401); // the browser kept the new session cookie but withheld it on the cross-site redirect chain
      expect(await me.json()).toEqual({ error: 'NOT_LOGGED_IN', message: 'no session: log in first' });
      expect((await context!.cookies(app.url)).find((cookie) => cookie.name === 'tk.sid')).toMatchObject({ sameSite: 'Strict' });

      const again = await page.goto(`${app.url}/me`); // a navigation of its own: the session was there all along
      expect(await again?.json()).toMatchObject({ sub: 'grace' });
    } finally {
      await app.close();
    }
  });
});

/** A page in a fresh browser context (its own cookie jar); the one before is closed. */
async function newPage(): Promise<Page> {
  await context?.close();
  context = await browser.newContext({ ignoreHTTPSErrors: true }); // the test certificate is trusted by nothing
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  // Nothing leaves the machine: oidc-provider's pages link a web font, and without network its
  // render-blocking stylesheet waited on a name lookup, and so held the next click, for 5 s.
  await context.route(
    (url) => !LOOPBACK_HOSTS.has(url.hostname),
    (route) => route.abort('blockedbyclient'),
  );
  return context.newPage();
}

/** The connect cookie as Chromium stored it for the app. */
async function connectCookie(url = example.url, name = 'tk.connect') {
  return (await context!.cookies(url)).find((cookie) => cookie.name === name);
}

/** oidc-provider's development sign-in page (any login and password), then its consent page. */
async function signInAndConsent(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any-password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

interface Variant {
  /** Rewrite the connect cookie to `SameSite=Strict`, which no option of `oauthConnect` allows. */
  strictConnectCookie?: boolean;
  /** The session cookie's `sameSite`. */
  sessionSameSite?: 'lax' | 'strict';
  /** The listening server to serve on; default a new HTTP one. One from `httpsServer()` makes the variant HTTPS. */
  server?: Server;
  /** Default `'basic-client'`. */
  clientId?: string;
}

/**
 * The example's parts with one setting changed: `/connect`, `/callback` and `/me`, on a free
 * port of 127.0.0.1, against the given provider.
 */
async function startVariant(provider: TestProvider, variant: Variant): Promise<RunningExample> {
  const server = variant.server ?? (await listen(createServer()));
  const url = `${server instanceof HttpsServer ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const protocol = oauth2(
    { issuer: provider.issuer },
    { baseUrl: provider.api, clientId: variant.clientId ?? 'basic-client', clientSecret: SECRET, scope: 'openid offline_access' },
  );
  const keeper = new TokenKeeper({ protocol });
  const connect = oauthConnect({ protocol, redirectUri: `${url}/callback`, secret: 'the-variant-connect-secret-of-32-chars' });
  const app = express();
  const secure = url.startsWith('https:');
  const cookie = { secret: 'the-variant-cookie-secret-of-32-chars!', secure, sameSite: variant.sessionSameSite ?? 'lax' };
  app.use(tokenKeeper({ keeper, cookie }));
  app.use(connectRoutes(variant.strictConnectCookie ? strict(connect) : connect));
  app.get('/me', async (req, res) => {
    const answer = await req.upstream.fetch('/me');
    res
      .status(answer.status)
      .type('json')
      .send(await answer.text());
  });
  app.use(tokenKeeperErrors());
  server.on('request', app);
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keeper.close();
    },
  };
}

/** An HTTPS server with the test certificate, listening on a free port of 127.0.0.1. */
async function httpsServer(): Promise<HttpsServer> {
  return listen(createHttpsServer(TEST_TLS));
}

async function listen<S extends Server>(server: S): Promise<S> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function strict(login: RedirectLogin<OAuth2Credentials>): RedirectLogin<OAuth2Credentials> {
  const rewrite = <A extends RedirectLoginAnswer>(answer: A): A => ({
    ...answer,
    setCookies: answer.setCookies.map((cookie) => {
      if (!cookie.includes('; SameSite=Lax')) throw new Error(`the connect cookie is no longer SameSite=Lax: ${cookie.split('=')[0]}`);
      return cookie.replace('; SameSite=Lax', '; SameSite=Strict');
    }),
  });
  return {
    start: async (request) => rewrite(await login.start(request)),
    finish: async (request) => rewrite(await login.finish(request)),
  };
}
