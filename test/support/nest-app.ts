// The root package has no @nestjs dependency (and its package.json is not this suite's to
// change), so NestJS is reached through @tokenkeeper/nestjs's own node_modules: the very copy its
// decorators and module are built on.
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Post, Res, UseGuards } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession, UpstreamSessionGuard } from '@tokenkeeper/nestjs';
import type { Response as ExpressResponse } from 'express';
import { afterEach } from 'vitest';
import { type AppOptions, Browser, type ProtocolCase, SECRET, startUpstream, type TestApp } from './adapter-fixtures.js';

const apps: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.close();
});

/**
 * A Nest app (Express platform) with the same routes as the Express and Koa adapters' test apps
 * (`POST /login`, `GET /me`, `GET /data`, `POST /logout`), on `TokenKeeperModule.forRoot()` with
 * the built-in cookie unless a `sessionKey` function is given; closed after the test. `GET /me`
 * is behind `UpstreamSessionGuard`, as in the package's README; `GET /data` relies on
 * `AuthErrorFilter` alone.
 */
export async function startNestApp(
  protocol: ProtocolCase,
  options: AppOptions & { middleware?: { sessionKey?: (request: any) => unknown } } = {},
): Promise<TestApp> {
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
    async me(@UpstreamSession() session: UpstreamSession, @Res() response: ExpressResponse): Promise<void> {
      await relay(await session.fetch('/whoami'), response);
    }

    @Get('data')
    async data(@UpstreamSession() session: UpstreamSession, @Res() response: ExpressResponse): Promise<void> {
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

  const app = await NestFactory.create(AppModule, { logger: false, forceCloseConnections: true, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  apps.push(app);
  const { port } = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return { url, upstream, keeper, clock, protocol, browser: () => new Browser(url) };
}

async function relay(answer: Response, response: ExpressResponse): Promise<void> {
  response.status(answer.status).type(answer.headers.get('content-type') ?? 'text/plain');
  response.send(Buffer.from(await answer.arrayBuffer()));
}
