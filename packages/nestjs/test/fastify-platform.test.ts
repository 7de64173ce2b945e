import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post, Res } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession } from '../src/index.js';
import { Browser, listen, PROTOCOLS, SECRET, startUpstream } from './support.js';

const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;

describe('TokenKeeperModule on the Fastify platform', () => {
  it('sends the session cookie beside a cookie the route sets on the Fastify reply', async () => {
    const { keeper } = await startUpstream(teletracker);
    @Controller()
    class LoginController {
      @Post('login')
      @HttpCode(204)
      async login(
        @UpstreamSession() session: UpstreamSession,
        @Body() credentials: unknown,
        @Res({ passthrough: true }) reply: FastifyReply,
      ): Promise<void> {
        reply.header('set-cookie', 'theme=dark; Path=/');
        await session.login(credentials);
      }

      @Post('logout')
      @HttpCode(204)
      async logout(@UpstreamSession() session: UpstreamSession, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
        await session.logout();
        reply.header('set-cookie', 'theme=; Path=/; Max-Age=0');
      }
    }
    @Module({
      imports: [TokenKeeperModule.forRoot({ keeper, cookie: { secret: SECRET } })],
      controllers: [LoginController],
      providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
    })
    class AppModule {}
    const { url } = await listen(AppModule, 'fastify');
    const ada = new Browser(url);

    const login = await ada.login(teletracker.credentials('ada'));
    expect(login.status).toBe(204);
    expect(login.setCookies).toEqual(
      expect.arrayContaining(['theme=dark; Path=/', expect.stringMatching(/^__Host-tk\.sid=[\w-]{22}\.[\w-]{43}; /)]),
    );
    expect(login.setCookies).toHaveLength(2);
    const logout = await ada.request('POST', '/logout');
    expect(logout.setCookies).toEqual(
      expect.arrayContaining(['theme=; Path=/; Max-Age=0', expect.stringMatching(/^__Host-tk\.sid=; .*Max-Age=0$/)]),
    );
    expect(logout.setCookies).toHaveLength(2);
  });
});
