// A NestJS app compiled to CommonJS (see tsconfig.json beside it), using @tokenkeeper/nestjs
// through require(): what a Nest 12 project on CommonJS gets.
import 'reflect-metadata';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { refreshToken } from '@tokenkeeper/auth-core';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession } from '@tokenkeeper/nestjs';

const upstreamUrl = process.env.UPSTREAM_URL!;

@Controller()
class AppController {
  @Post('login')
  async login(@UpstreamSession() upstream: UpstreamSession, @Body() credentials: unknown) {
    return upstream.login(credentials);
  }

  @Get('me')
  async me(@UpstreamSession() upstream: UpstreamSession) {
    return (await upstream.fetch('/whoami')).json();
  }
}

@Module({
  imports: [
    TokenKeeperModule.forRoot({
      keeperOptions: { protocol: refreshToken({ baseUrl: upstreamUrl }) },
      cookie: { secret: 'a-secret-of-at-least-thirty-two-characters', secure: false },
    }),
  ],
  controllers: [AppController],
  providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
})
class AppModule {}

async function main() {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  const base = `http://127.0.0.1:${port}`;
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ada', password: 'ada-password-1' }),
  });
  const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
  const me = await fetch(`${base}/me`, { headers: { cookie } });
  const anonymous = await fetch(`${base}/me`);
  console.log(JSON.stringify({ module: typeof module, login: login.status, me: await me.json(), anonymous: anonymous.status }));
  await app.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
