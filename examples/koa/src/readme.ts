import { json } from 'node:stream/consumers';
import Router from '@koa/router';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/koa';
import Koa from 'koa';

const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }) });
const router = new Router();
router.post('/login', async (ctx) => {
  ctx.body = await ctx.state.upstream.login(await json(ctx.req)); // sets the session cookie; or use @koa/bodyparser
});
router.get('/reports/:name', async (ctx) => {
  const answer = await ctx.state.upstream.fetch(`/reports/${encodeURIComponent(ctx.params.name!)}`); // as this user
  ctx.status = answer.status; // an upstream 404 stays a 404
  ctx.type = answer.headers.get('content-type') ?? 'text/plain';
  ctx.body = await answer.text();
});
router.post('/logout', async (ctx) => {
  await ctx.state.upstream.logout();
  ctx.status = 204;
});

const app = new Koa();
// Before the routes: sets ctx.state.upstream, and answers an AuthError with its status and { error, message }.
app.use(tokenKeeper({ keeper, cookie: { secret: process.env.COOKIE_SECRET! } })); // 32+ random characters
app.use(router.routes());
export const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
server.on('close', () => keeper.close());
