import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, HttpException, Module, Param, Post, UseGuards } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { type RefreshTokenCredentials, refreshToken } from '@tokenkeeper/auth-core';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession, UpstreamSessionGuard } from '@tokenkeeper/nestjs';

@Controller()
class ReportsController {
  @Post('login')
  @HttpCode(200)
  login(@UpstreamSession() upstream: UpstreamSession<RefreshTokenCredentials>, @Body() body: RefreshTokenCredentials) {
    return upstream.login(body); // sets the session cookie; { status, expiresAt }, never a token
  }

  @Get('reports/:name')
  @UseGuards(UpstreamSessionGuard) // 401 { error: 'NOT_LOGGED_IN', message } without a live session
  async report(@UpstreamSession() upstream: UpstreamSession, @Param('name') name: string) {
    const answer = await upstream.fetch(`/reports/${encodeURIComponent(name)}`); // as this user
    if (!answer.ok) throw new HttpException(await answer.text(), answer.status); // an upstream 404 stays a 404
    return answer.json();
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@UpstreamSession() upstream: UpstreamSession) {
    await upstream.logout();
  }
}

@Module({
  imports: [
    TokenKeeperModule.forRoot({
      keeperOptions: { protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }) },
      cookie: { secret: process.env.COOKIE_SECRET! }, // 32+ random characters
    }),
  ],
  controllers: [ReportsController],
  providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }], // an AuthError → its status and { error, message }
})
class AppModule {}

const app = await NestFactory.create(AppModule);
app.enableShutdownHooks(); // on SIGTERM: closes the keeper the module built
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
console.log(`listening on ${await app.getUrl()}`);
