import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Inject, Injectable, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import type { FakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { PROTOCOLS, type ProtocolCase, protocolCase, setup } from '../../auth-core/test/harness.js';
import {
  AuthErrorFilter,
  TOKEN_KEEPER,
  TokenKeeperModule,
  type TokenKeeperModuleOptions,
  UpstreamSession,
  UpstreamSessionGuard,
} from '../src/index.js';
import { listen, PLATFORMS, type Platform, type PlatformResponse } from './support.js';

const SECRET = 'a-cookie-secret-of-at-least-32-characters';
/** What UpstreamSessionGuard answers. */
const NO_SESSION = { error: 'NOT_LOGGED_IN', message: 'no session: log in first' };

@Controller()
class UpstreamController {
  @Post('login')
  @HttpCode(200)
  login(@UpstreamSession() upstream: UpstreamSession, @Body() credentials: unknown) {
    return upstream.login(credentials);
  }

  @Get('whoami')
  @UseGuards(UpstreamSessionGuard)
  async whoami(@UpstreamSession() upstream: UpstreamSession, @Res({ passthrough: true }) response: PlatformResponse) {
    const answer = await upstream.fetch('/whoami');
    response.status(answer.status);
    return answer.json();
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@UpstreamSession() upstream: UpstreamSession) {
    await upstream.logout();
  }
}

/** A Nest app on `platform`, listening on 127.0.0.1 and a free port; closed after the test. */
async function startApp(platform: Platform, imports: unknown[]) {
  @Module({
    imports: imports as never[],
    controllers: [UpstreamController],
    providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
  })
  class AppModule {}
  return listen(AppModule, platform);
}

/** A browser of one user: keeps the session cookie between requests. */
function client(url: string) {
  let cookie: string | undefined;
  const call = async (method: string, path: string, body?: unknown) => {
    // No JSON content type without a body: Fastify refuses an empty JSON body with 400.
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (cookie) headers.cookie = cookie;
    const response = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const set = response.headers.getSetCookie()[0];
    if (set) cookie = set.split(';')[0]!.endsWith('=') ? undefined : set.split(';')[0];
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, setCookie: set };
  };
  return {
    login: (credentials: unknown) => call('POST', '/login', credentials),
    whoami: () => call('GET', '/whoami'),
    logout: () => call('POST', '/logout'),
    get cookie() {
      return cookie;
    },
    set cookie(value) {
      cookie = value;
    },
  };
}

async function appFor(platform: Platform, protocol: ProtocolCase, keeperOptions = {}, upstreamOptions = {}) {
  const context = await setup(protocol.name, keeperOptions, upstreamOptions);
  const { url } = await startApp(platform, [
    TokenKeeperModule.forRoot({ keeper: context.keeper, cookie: { secret: SECRET, secure: false } }),
  ]);
  return { ...context, url };
}

async function loggedIn(url: string, credentials: unknown) {
  const browser = client(url);
  const answer = await browser.login(credentials);
  expect(answer.status).toBe(200);
  return browser;
}

/** Upstream calls that issued or renewed tokens: refreshes, seed-000 renewals, and logins. */
function tokenIssues(upstream: FakeUpstream): number {
  return upstream.stats.renewals + upstream.stats.refreshes + upstream.stats.logins;
}

describe.each(PLATFORMS)('on the %s platform', (platform) => {
  describe.each(PROTOCOLS)('TokenKeeperModule with the $name preset', (protocol) => {
    it('keeps two users apart: each browser sees only its own upstream user', async () => {
      const { url } = await appFor(platform, protocol);
      const ada = await loggedIn(url, protocol.credentials('ada'));
      const grace = await loggedIn(url, protocol.credentials('grace'));
      expect(ada.cookie).not.toBe(grace.cookie);
      for (let round = 0; round < 3; round++) {
        expect((await ada.whoami()).body).toEqual({ userId: 1 });
        expect((await grace.whoami()).body).toEqual({ userId: 2 });
      }
    });

    it('refreshes an expired token transparently and answers 200', async () => {
      const { url, upstream, clock } = await appFor(platform, protocol, { rememberCredentials: true });
      const ada = await loggedIn(url, protocol.credentials('ada'));
      await clock.advance(protocol.lifetimeMs + 1_000);
      upstream.stats.reset();
      expect(await ada.whoami()).toMatchObject({ status: 200, body: { userId: 1 } });
      expect(tokenIssues(upstream)).toBe(1);
      expect(upstream.stats.rejected).toBe(0);
    });

    it('retries an upstream call rejected with the expiry signal exactly once', async () => {
      const { url, upstream } = await appFor(platform, protocol);
      const ada = await loggedIn(url, protocol.credentials('ada'));
      upstream.faults.next('api', 'expired');
      expect(await ada.whoami()).toMatchObject({ status: 200, body: { userId: 1 } });
      expect(upstream.stats.apiCalls).toBe(2);
      expect(upstream.stats.rejected).toBe(1);
    });

    it('answers a re-login refused with the stored credentials with 401 STORED_CREDENTIALS_REFUSED as JSON', async () => {
      const lapsed = lapsedSession(protocol);
      const { url, clock } = await appFor(platform, protocol, { credentials: () => protocol.wrongCredentials }, lapsed.upstreamOptions);
      const ada = await loggedIn(url, protocol.credentials('ada'));
      await clock.advance(lapsed.lapseMs);
      const answer = await ada.whoami();
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ error: 'STORED_CREDENTIALS_REFUSED', message: expect.any(String) });
    });

    it('ends the session on logout: the cookie is cleared and the old cookie no longer passes the guard', async () => {
      const { url, upstream } = await appFor(platform, protocol);
      const ada = await loggedIn(url, protocol.credentials('ada'));
      const oldCookie = ada.cookie;
      const answer = await ada.logout();
      expect(answer.status).toBe(204);
      expect(answer.setCookie).toMatch(/^tk\.sid=; .*Max-Age=0/);
      ada.cookie = oldCookie;
      upstream.stats.reset();
      expect(await ada.whoami()).toEqual({ status: 401, body: NO_SESSION, setCookie: undefined });
      expect(upstream.stats.apiCalls).toBe(0);
    });

    it('treats a forged or tampered session cookie as no session: the guard answers 401', async () => {
      const { url, upstream } = await appFor(platform, protocol);
      const ada = await loggedIn(url, protocol.credentials('ada'));
      const [name, value] = ada.cookie!.split('=') as [string, string];
      const [id, signature] = value.split('.') as [string, string];
      const flipped = `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`;
      const forged = [`${name}=${flipped}.${signature}`, `${name}=${id}`, `${name}=${id}.${'x'.repeat(43)}`];
      upstream.stats.reset();
      for (const cookie of forged) {
        ada.cookie = cookie;
        expect(await ada.whoami()).toMatchObject({ status: 401, body: NO_SESSION });
      }
      expect(upstream.stats.apiCalls).toBe(0);
    });

    it('answers 500 concurrent requests of one user at expiry with exactly one upstream renewal', async () => {
      const { url, upstream, clock } = await appFor(platform, protocol, { rememberCredentials: true });
      const ada = await loggedIn(url, protocol.credentials('ada'));
      await clock.advance(protocol.lifetimeMs + 1_000);
      upstream.stats.reset();
      const answers = await Promise.all(Array.from({ length: 500 }, () => ada.whoami()));
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(500);
      expect(tokenIssues(upstream)).toBe(1);
      expect(upstream.stats.rejected).toBe(0);
    });
  });

  describe('configuring TokenKeeperModule', () => {
    const teletracker = protocolCase('refreshToken');

    it('builds its keeper in forRootAsync from an injected config, and closes that keeper on shutdown', async () => {
      const { upstream } = await setup('refreshToken');
      const UPSTREAM_CONFIG = 'UPSTREAM_CONFIG';
      @Module({
        providers: [{ provide: UPSTREAM_CONFIG, useValue: { baseUrl: upstream.url, cookieSecret: SECRET } }],
        exports: [UPSTREAM_CONFIG],
      })
      class ConfigModule {}
      const { app, url } = await startApp(platform, [
        TokenKeeperModule.forRootAsync({
          imports: [ConfigModule],
          inject: [UPSTREAM_CONFIG],
          useFactory: (config: { baseUrl: string; cookieSecret: string }): TokenKeeperModuleOptions => ({
            keeperOptions: { protocol: refreshToken({ baseUrl: config.baseUrl }), keepAlive: false },
            cookie: { secret: config.cookieSecret, secure: false },
          }),
        }),
      ]);
      const ada = await loggedIn(url, teletracker.credentials('ada'));
      expect((await ada.whoami()).body).toEqual({ userId: 1 });
      const keeper = app.get<TokenKeeper>(TOKEN_KEEPER);
      expect(keeper.protocol.origin).toBe(upstream.url);
      await app.close();
      await expect(keeper.session('ada').token()).rejects.toMatchObject({
        code: 'KEEPER_CLOSED',
        message: 'the TokenKeeper is closed',
      });
    });

    it('leaves a keeper it was given open on shutdown', async () => {
      const { keeper } = await setup('refreshToken');
      const { app } = await startApp(platform, [TokenKeeperModule.forRoot({ keeper, sessionKey: () => 'ada' })]);
      await app.close();
      await expect(keeper.session('ada').state()).resolves.toEqual({ status: 'none' });
    });

    it('is global: a module that does not import it can inject the keeper by token or by class', async () => {
      const { keeper } = await setup('refreshToken');
      @Injectable()
      class Reports {
        constructor(
          @Inject(TOKEN_KEEPER) readonly byToken: TokenKeeper,
          @Inject(TokenKeeper) readonly byClass: TokenKeeper,
        ) {}
      }
      @Module({ providers: [Reports], exports: [Reports] })
      class ReportsModule {}
      const { app } = await startApp(platform, [TokenKeeperModule.forRoot({ keeper, sessionKey: () => undefined }), ReportsModule]);
      const reports = app.get(Reports);
      expect(reports.byToken).toBe(keeper);
      expect(reports.byClass).toBe(keeper);
    });

    it('keys sessions with the sessionKey function when one is given', async () => {
      const { keeper, upstream } = await setup('refreshToken');
      const { url } = await startApp(platform, [TokenKeeperModule.forRoot({ keeper, sessionKey: (request) => request.headers['x-user'] })]);
      const as = (user?: string) => ({ 'content-type': 'application/json', ...(user && { 'x-user': user }) });
      const login = await fetch(`${url}/login`, {
        method: 'POST',
        headers: as('u-42'),
        body: JSON.stringify(teletracker.credentials('grace')),
      });
      expect(login.status).toBe(200);
      expect(login.headers.getSetCookie()).toEqual([]);
      expect((await keeper.session('u-42').state()).status).toBe('active');
      expect(await (await fetch(`${url}/whoami`, { headers: as('u-42') })).json()).toEqual({ userId: 2 });
      expect((await fetch(`${url}/whoami`, { headers: as() })).status).toBe(401);
      expect(upstream.stats.apiCalls).toBe(1);
    });

    it('adds no property to the request (on Express, V8 copies the shape of a request for every property added)', async () => {
      @Controller()
      class PropertiesController {
        @Get('properties')
        properties(@Req() request: object, @UpstreamSession() upstream: UpstreamSession) {
          return {
            key: upstream.key,
            ours: Reflect.ownKeys(request)
              .filter((name) => String(name).includes('tokenkeeper'))
              .map(String),
          };
        }
      }
      @Module({
        imports: [
          TokenKeeperModule.forRoot({
            keeper: new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.teletracker.example' }) }),
            sessionKey: () => 'ada',
          }),
        ],
        controllers: [PropertiesController],
      })
      class PropertiesModule {}
      const { app, url } = await listen(PropertiesModule, platform);
      expect(await (await fetch(`${url}/properties`)).json()).toEqual({ key: 'ada', ours: [] });
      await app.get(TokenKeeper).close();
    });

    it('answers 401 from the guard to a request without a cookie', async () => {
      const { url } = await appFor(platform, teletracker);
      expect(await client(url).whoami()).toMatchObject({ status: 401, body: NO_SESSION });
    });

    it('answers a refused login with 401 and the error code, and sets no cookie', async () => {
      const { url } = await appFor(platform, teletracker);
      const answer = await client(url).login(teletracker.wrongCredentials);
      expect(answer).toMatchObject({ status: 401, body: { error: 'INVALID_CREDENTIALS' }, setCookie: undefined });
    });

    it('refuses options without exactly one way to find the session, naming them', async () => {
      const { keeper } = await setup('refreshToken');
      // The same rule and wording as every server adapter: SessionSource's, naming this module.
      await expect(startApp(platform, [TokenKeeperModule.forRoot({ keeper })])).rejects.toThrow(
        new TypeError('TokenKeeperModule: cookie.secret is required when there is no sessionKey function'),
      );
      await expect(
        startApp(platform, [TokenKeeperModule.forRoot({ keeper, sessionKey: () => 'x', cookie: { secret: 's'.repeat(32) } })]),
      ).rejects.toThrow(new TypeError('TokenKeeperModule: give either sessionKey or cookie, not both'));
      await expect(startApp(platform, [TokenKeeperModule.forRoot({ sessionKey: () => 'x' })])).rejects.toThrow(
        'TokenKeeperModule: give exactly one of keeper (a TokenKeeper) or keeperOptions',
      );
    });
  });
});

/** A refused re-login: the refresh token lapses (seed 000: the access token), and the provider's password is wrong. */
function lapsedSession(protocol: ProtocolCase) {
  const refreshLifetimeMs = 2 * protocol.lifetimeMs;
  return {
    upstreamOptions: protocol.name === 'sessionRenew' ? {} : { refreshTokenLifetimeMs: refreshLifetimeMs },
    lapseMs: (protocol.name === 'sessionRenew' ? protocol.lifetimeMs : refreshLifetimeMs) + 1_000,
  };
}
