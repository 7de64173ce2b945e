import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Post, Res, UseGuards } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { afterEach } from 'vitest';
import {
  type AppOptions,
  Browser,
  type ProtocolCase,
  SECRET,
  startUpstream,
  type TestApp,
} from '../../../test/support/adapter-fixtures.js';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession, UpstreamSessionGuard } from '../src/index.js';

export * from '../../../test/support/adapter-fixtures.js';

/** The HTTP platforms Nest runs on; every NestJS test runs on both. */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** The reply methods a route here uses, which Express's `Response` and Fastify's `FastifyReply` both have. */
export interface PlatformResponse {
  status(code: number): PlatformResponse;
  type(contentType: string): PlatformResponse;
  send(body: unknown): unknown;
}

const apps: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.close();
});

/** A Nest app of `AppModule` on `platform`, listening on 127.0.0.1 and a free port; closed after the test. */
export async function listen(AppModule: new () => unknown, platform: Platform) {
  const options = { logger: false as const, forceCloseConnections: true, abortOnError: false };
  const app =
    platform === 'express'
      ? await NestFactory.create(AppModule, options)
      : await NestFactory.create(AppModule, new FastifyAdapter(), options);
  await app.listen(0, '127.0.0.1');
  apps.push(app);
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

/**
 * A Nest app on `platform` with the same routes as the other adapters' test apps (`POST /login`,
 * `GET /me`, `GET /data`, `POST /logout`), on `TokenKeeperModule.forRoot()` with the built-in
 * cookie unless a `sessionKey` function is given; closed after the test. `GET /me` is behind
 * `UpstreamSessionGuard`, as in the package's README; `GET /data` relies on `AuthErrorFilter` alone.
 */
export function nestApp(platform: Platform) {
  return async (
    protocol: ProtocolCase,
    options: AppOptions & { middleware?: { sessionKey?: (request: any) => unknown } } = {},
  ): Promise<TestApp> => {
    const { upstream, keeper, clock } = await startUpstream(protocol, options);

    @Controller()
    class UpstreamController {
      @Post('login')
      @HttpCode(204)
      async login(@UpstreamSession() session: UpstreamSession, @Body() credentials: unknown): Promise<void> {
        await session.login(credentials);
      }

      @Get('me')
      @UseGuards(UpstreamSessionGuard)
      async me(@UpstreamSession() session: UpstreamSession, @Res() response: PlatformResponse): Promise<void> {
        await relay(await session.fetch('/whoami'), response);
      }

      @Get('data')
      async data(@UpstreamSession() session: UpstreamSession, @Res() response: PlatformResponse): Promise<void> {
        await relay(await session.fetch(protocol.resource), response);
      }

      @Post('logout')
      @HttpCode(204)
      async logout(@UpstreamSession() session: UpstreamSession): Promise<void> {
        await session.logout();
      }
    }

    const finding = options.middleware?.sessionKey ? { sessionKey: options.middleware.sessionKey } : { cookie: { secret: SECRET } };
    @Module({
      imports: [TokenKeeperModule.forRoot({ keeper, ...finding })],
      controllers: [UpstreamController],
      providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
    })
    class AppModule {}

    const { url } = await listen(AppModule, platform);
    return { url, upstream, keeper, clock, protocol, browser: () => new Browser(url) };
  };
}

/** Passes an upstream answer on to the client. */
export async function relay(answer: Response, response: PlatformResponse): Promise<void> {
  const body = Buffer.from(await answer.arrayBuffer());
  response
    .status(answer.status)
    .type(answer.headers.get('content-type') ?? 'text/plain')
    .send(body);
}
