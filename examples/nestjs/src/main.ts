/**
 * A NestJS app that calls an upstream as each of its users, against the fake upstream (the rotating
 * `refreshToken`): `POST /login` with the user's upstream credentials, `GET /me`, `GET /data`,
 * `POST /logout`. The session lives in a signed cookie; tokens never reach the browser.
 *
 * Run: npx --yes pnpm@10.34.9 exec tsc -b examples/nestjs && node examples/nestjs/dist/main.js
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Body, Controller, Get, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { type RefreshTokenCredentials, refreshToken } from '@tokenkeeper/auth-core';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession, UpstreamSessionGuard } from '@tokenkeeper/nestjs';
import { startFakeUpstream } from '@tokenkeeper/testing';

@Controller()
class AccountController {
  @Post('login')
  @HttpCode(200)
  async login(
    @UpstreamSession() upstream: UpstreamSession<RefreshTokenCredentials>,
    @Body() body: { username?: unknown; password?: unknown },
  ) {
    const state = await upstream.login({ username: String(body.username ?? ''), password: String(body.password ?? '') });
    return { loggedIn: true, expiresAt: state.expiresAt };
  }

  @Get('me')
  @UseGuards(UpstreamSessionGuard)
  async me(@UpstreamSession() upstream: UpstreamSession) {
    const answer = await upstream.fetch('/whoami');
    const { userId } = (await answer.json()) as { userId: number };
    return { userId, session: await upstream.state() };
  }

  @Get('data')
  @UseGuards(UpstreamSessionGuard)
  async data(@UpstreamSession() upstream: UpstreamSession) {
    const answer = await upstream.fetch('/reports/call-data');
    return answer.json();
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@UpstreamSession() upstream: UpstreamSession): Promise<void> {
    await upstream.logout();
  }
}

export interface ExampleOptions {
  /** Port of the app. Default 3000; 0 picks a free one. */
  port?: number;
  /** Cookie signing secret. Default: `COOKIE_SECRET`, else a random one (sessions end on restart). */
  cookieSecret?: string;
}

/** Starts a fake upstream and the app on 127.0.0.1; `close()` stops both. */
export async function bootstrap(options: ExampleOptions = {}): Promise<{ url: string; upstreamUrl: string; close(): Promise<void> }> {
  const upstream = await startFakeUpstream({ protocol: 'refreshToken' });

  @Module({
    imports: [
      TokenKeeperModule.forRoot({
        keeperOptions: { protocol: refreshToken({ baseUrl: upstream.url }) },
        cookie: {
          secret: options.cookieSecret ?? process.env.COOKIE_SECRET ?? randomBytes(32).toString('base64url'),
          secure: false, // plain HTTP on localhost; keep the default (true) behind HTTPS
        },
      }),
    ],
    controllers: [AccountController],
    providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
  })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'], forceCloseConnections: true, abortOnError: false });
  await app.listen(options.port ?? 3000, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    upstreamUrl: upstream.url,
    async close() {
      await app.close(); // closes the keeper the module built
      await upstream.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  bootstrap({ port: Number(process.env.PORT ?? 3000) }).then(
    ({ url, close }) => {
      console.log(`listening on ${url}; try:`);
      console.log(`  curl -c jar -H 'content-type: application/json' -d '{"username":"ada","password":"ada-password-1"}' ${url}/login`);
      console.log(`  curl -b jar ${url}/me`);
      console.log(`  curl -b jar ${url}/data`);
      console.log(`  curl -b jar -c jar -X POST ${url}/logout`);
      const stop = () => void close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
