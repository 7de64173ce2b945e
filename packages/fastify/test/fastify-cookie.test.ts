import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { type TokenKeeperPluginOptions, tokenKeeper } from '../src/index.js';
import { Browser, PROTOCOLS, SECRET, serve, startUpstream, USER_IDS } from './support.js';

const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;

/** An app that uses @fastify/cookie for a cookie of its own (`theme`) beside the session cookie. */
async function appWithFastifyCookie(order: 'before' | 'after') {
  const { upstream, keeper } = await startUpstream(teletracker);
  const app = Fastify();
  const registerCookie = (instance: FastifyInstance) =>
    instance.register(fastifyCookie, { secret: 'the app’s own @fastify/cookie secret' });
  const options: TokenKeeperPluginOptions = { keeper, cookie: { secret: SECRET } };
  if (order === 'before') await registerCookie(app);
  await app.register(tokenKeeper, options);
  if (order === 'after') await registerCookie(app);
  app.post('/login', async (request, reply) => {
    reply.setCookie('theme', 'dark', { path: '/' });
    await request.upstream.login(request.body);
    return reply.code(204).send();
  });
  app.get('/me', async (request) => ({
    theme: request.cookies.theme,
    ...((await (await request.upstream.fetch('/whoami')).json()) as object),
  }));
  app.post('/logout', async (request, reply) => {
    reply.clearCookie('theme', { path: '/' });
    await request.upstream.logout();
    return reply.code(204).send();
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = await serve(app.server);
  return { url, upstream, browser: () => new Browser(url) };
}

describe.each(['before', 'after'] as const)('request.upstream in an app that registers @fastify/cookie %s the plugin', (order) => {
  it("sends the session cookie beside the app's own cookies, and reads it beside them", async () => {
    const { browser } = await appWithFastifyCookie(order);
    const ada = browser();
    const login = await ada.login(teletracker.credentials('ada'));

    expect(login.status).toBe(204);
    expect(login.setCookies).toHaveLength(2);
    expect(login.setCookies).toEqual(
      expect.arrayContaining([expect.stringMatching(/^__Host-tk\.sid=[\w-]{22}\.[\w-]{43}; /), 'theme=dark; Path=/; SameSite=Lax']),
    );
    ada.cookie = `theme=dark; ${ada.cookie}`;
    expect(await ada.get('/me')).toMatchObject({ status: 200, body: { theme: 'dark', userId: USER_IDS.ada } });
  });

  it("clears the session cookie beside the app's own on logout", async () => {
    const { browser } = await appWithFastifyCookie(order);
    const ada = browser();
    await ada.login(teletracker.credentials('ada'));
    const logout = await ada.request('POST', '/logout');

    expect(logout.status).toBe(204);
    expect(logout.setCookies).toHaveLength(2);
    expect(logout.setCookies).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^__Host-tk\.sid=; .*Max-Age=0$/),
        expect.stringMatching(/^theme=; Max-Age=0; Path=\/; /),
      ]),
    );
  });

  it('still reads two session cookies as no session, though @fastify/cookie keeps one of them', async () => {
    const { browser, upstream } = await appWithFastifyCookie(order);
    const ada = browser();
    await ada.login(teletracker.credentials('ada'));
    const grace = browser();
    await grace.login(teletracker.credentials('grace'));
    ada.cookie = `${ada.cookie}; ${grace.cookie}`;
    upstream.stats.reset();

    expect(await ada.get('/me')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    expect(upstream.stats.apiCalls).toBe(0);
  });
});
