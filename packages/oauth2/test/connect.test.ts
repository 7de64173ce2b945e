/**
 * The whole "connect your account" flow over real HTTP, in real Express and Koa apps
 * (tokenKeeper() and connectRoutes()) and NestJS on both its platforms (the module's `connect` option), with oidc-provider as the authorization server (its own sign-in and consent
 * pages, filled in by a test browser), and a resource server that accepts only the provider's
 * live tokens.
 */
import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, Res } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TokenKeeper } from '@tokenkeeper/auth-core';
import * as forExpress from '@tokenkeeper/express';
import * as forKoa from '@tokenkeeper/koa';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession } from '@tokenkeeper/nestjs';
import { oauth2, oauthConnect } from '@tokenkeeper/oauth2';
import { SECRET, startProvider, TestBrowser, type TestProvider } from '@tokenkeeper/oauth2/testing';
import express from 'express';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';

const CONNECT_SECRET = 'a-connect-cookie-secret-of-32-characters!';
const COOKIE_SECRET = 'a-session-cookie-secret-of-32-characters';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface App {
  url: string;
  provider: TestProvider;
  keeper: TokenKeeper;
}

type Framework = 'express' | 'koa' | 'nestjs-express' | 'nestjs-fastify';
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The app a user writes: the session cookie, the two connect routes, and one route that calls the API as the user. */
async function appFor(
  framework: Framework,
  keeper: TokenKeeper,
  connect: ReturnType<typeof oauthConnect>,
): Promise<{ handler: Handler; close?: () => Promise<void> }> {
  const cookie = { secret: COOKIE_SECRET, secure: false };
  if (framework.startsWith('nestjs')) return nestApp(framework === 'nestjs-express' ? 'express' : 'fastify', keeper, connect);
  if (framework === 'express') {
    const app = express();
    app.use(forExpress.tokenKeeper({ keeper, cookie }), forExpress.connectRoutes(connect));
    app.get('/me', async (req, res) => {
      const answer = await req.upstream.fetch('/me');
      res.status(answer.status).json({ upstream: await answer.json(), state: await req.upstream.state() });
    });
    app.use(forExpress.tokenKeeperErrors());
    return { handler: app };
  }
  const app = new Koa();
  app.use(forKoa.tokenKeeper({ keeper, cookie })).use(forKoa.connectRoutes(connect));
  app.use(async (ctx) => {
    if (ctx.path !== '/me') return;
    const answer = await ctx.state.upstream.fetch('/me');
    ctx.status = answer.status;
    ctx.body = { upstream: await answer.json(), state: await ctx.state.upstream.state() };
  });
  return { handler: app.callback() };
}

/** The same app in NestJS: `connect` on `TokenKeeperModule.forRoot()`, `AuthErrorFilter`, one controller. */
async function nestApp(platform: 'express' | 'fastify', keeper: TokenKeeper, connect: ReturnType<typeof oauthConnect>) {
  @Controller()
  class MeController {
    @Get('me')
    async me(@UpstreamSession() session: UpstreamSession, @Res() reply: { status(code: number): { send(body: unknown): unknown } }) {
      const answer = await session.fetch('/me');
      reply.status(answer.status).send({ upstream: await answer.json(), state: await session.state() });
    }
  }
  @Module({
    imports: [TokenKeeperModule.forRoot({ keeper, cookie: { secret: COOKIE_SECRET, secure: false }, connect: { login: connect } })],
    controllers: [MeController],
    providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
  })
  class AppModule {}

  const options = { logger: false as const, abortOnError: false };
  if (platform === 'express') {
    const instance = express();
    const app = await NestFactory.create(AppModule, new ExpressAdapter(instance), options);
    await app.init();
    return { handler: instance as Handler, close: () => app.close() };
  }
  const app = await NestFactory.create(AppModule, new FastifyAdapter(), options);
  await app.init();
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.ready();
  return { handler: ((req, res) => fastify.routing(req, res)) as Handler, close: () => app.close() };
}

async function startApp(
  framework: Framework,
  clientOptions: Record<string, unknown> = { clientId: 'basic-client', clientSecret: SECRET },
): Promise<App> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = await startProvider();
  const protocol = oauth2({ issuer: provider.issuer }, {
    baseUrl: provider.api,
    scope: 'openid offline_access email',
    ...clientOptions,
  } as never);
  const keeper = new TokenKeeper({ protocol });
  const app = await appFor(framework, keeper, oauthConnect({ protocol, redirectUri: `${url}/callback`, secret: CONNECT_SECRET }));
  server.on('request', app.handler);
  cleanups.push(async () => {
    await app.close?.();
    await keeper.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await provider.close();
  });
  return { url, provider, keeper };
}

describe.each(['express', 'koa', 'nestjs-express', 'nestjs-fastify'] as const)(
  'connecting an account through %s and oidc-provider',
  (framework) => {
    it('signs in on the provider, lands back connected, and req.upstream.fetch reaches the API as that user', async () => {
      const { url, provider } = await startApp(framework);
      const browser = new TestBrowser('ada');

      const visit = await browser.open(`${url}/connect?returnTo=/me`);

      expect(visit.trail[0]).toBe(`${url}/connect?returnTo=/me`);
      expect(visit.trail.some((step) => step.startsWith(`${provider.issuer}/auth?`))).toBe(true);
      expect(visit.trail.some((step) => step.startsWith(`${url}/callback?`))).toBe(true);
      expect(visit.trail.at(-1)).toBe(`${url}/me`);
      expect(visit.status).toBe(200);
      const page = JSON.parse(visit.body);
      expect(page.upstream).toMatchObject({ sub: 'ada', clientId: 'basic-client' });
      expect(page.state).toMatchObject({ status: 'active', claims: { sub: 'ada', iss: provider.issuer, aud: 'basic-client' } });
      expect(JSON.stringify(page.state)).not.toMatch(/nonce|at_hash/);
      expect(provider.tokenCalls).toEqual({ authorization_code: 1 });
    });

    it('refuses a callback whose state does not match the attempt with a 400 INVALID_CALLBACK', async () => {
      const { url, provider } = await startApp(framework);
      const browser = new TestBrowser('ada');
      const stopped = await browser.open(`${url}/connect`, { stopAt: (step) => step.pathname === '/callback' });
      const callback = new URL(stopped.stoppedAt!);
      callback.searchParams.set('state', 'another-state-value');

      const answer = await fetch(callback, { headers: { cookie: cookieHeader(browser) }, redirect: 'manual' });

      expect(answer.status).toBe(400);
      const body = (await answer.json()) as { error: string; message: string };
      expect(body.error).toBe('INVALID_CALLBACK');
      expect(body.message).toMatch(/^the callback does not match the authorization request: /);
      expect(provider.tokenCalls).toEqual({});
    });

    it('refuses a replayed callback: the second use of the same code and cookie is a 400, and no second exchange is made', async () => {
      const { url, provider } = await startApp(framework);
      const browser = new TestBrowser('ada');
      const stopped = await browser.open(`${url}/connect`, { stopAt: (step) => step.pathname === '/callback' });
      const cookie = cookieHeader(browser);

      const first = await fetch(stopped.stoppedAt!, { headers: { cookie }, redirect: 'manual' });
      const replay = await fetch(stopped.stoppedAt!, { headers: { cookie }, redirect: 'manual' });

      expect(first.status).toBe(303);
      expect(replay.status).toBe(400);
      expect(await replay.json()).toEqual({ error: 'INVALID_CALLBACK', message: 'this callback was already used' });
      expect(provider.tokenCalls).toEqual({ authorization_code: 1 });
    });

    it('refuses a callback without the attempt cookie (another browser) with a 400', async () => {
      const { url } = await startApp(framework);
      const browser = new TestBrowser('ada');
      const stopped = await browser.open(`${url}/connect`, { stopAt: (step) => step.pathname === '/callback' });

      const answer = await fetch(stopped.stoppedAt!, { redirect: 'manual' });

      expect(answer.status).toBe(400);
      expect(await answer.json()).toEqual({
        error: 'INVALID_CALLBACK',
        message: 'no connect attempt is pending in this browser (its cookie is missing or expired)',
      });
    });

    it('never redirects off the site after connecting: a returnTo of //evil.example lands on /', async () => {
      const { url } = await startApp(framework);
      const browser = new TestBrowser('ada');

      const visit = await browser.open(`${url}/connect?returnTo=//evil.example/steal`);

      expect(visit.trail.at(-1)).toBe(`${url}/`);
    });

    it.each([
      ['client_secret_post', { clientId: 'post-client', clientSecret: SECRET, clientAuth: 'client_secret_post' }],
      ['none (a public client, PKCE only)', { clientId: 'public-client' }],
    ])('connects with client authentication %s', async (_name, client) => {
      const { url, provider } = await startApp(framework, client);
      const visit = await new TestBrowser('grace').open(`${url}/connect?returnTo=/me`);

      expect(visit.status).toBe(200);
      expect(JSON.parse(visit.body).upstream).toMatchObject({ sub: 'grace' });
      expect(provider.tokenCalls).toEqual({ authorization_code: 1 });
    });

    it('a wrong client secret at the callback is CLIENT_MISCONFIGURED (500), not a session or credentials error', async () => {
      const { url } = await startApp(framework, { clientId: 'basic-client', clientSecret: 'not-the-secret-of-this-client-at-all' });
      const visit = await new TestBrowser('ada').open(`${url}/connect`);

      expect(visit.status).toBe(500);
      expect(JSON.parse(visit.body)).toEqual({
        error: 'CLIENT_MISCONFIGURED',
        message:
          'the authorization server refuses this client (invalid_client): check clientId, the client secret or key, clientAuth and scope',
      });
    });
  },
);

function cookieHeader(browser: TestBrowser): string {
  return [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
}
