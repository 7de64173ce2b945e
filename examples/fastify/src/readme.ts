import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/fastify';
import Fastify from 'fastify';

const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }) });
export const app = Fastify();
app.addHook('onClose', () => keeper.close());
await app.register(tokenKeeper, { keeper, cookie: { secret: process.env.COOKIE_SECRET! } }); // 32+ random characters

app.post('/login', async (request) => request.upstream.login(request.body)); // sets the session cookie
app.get<{ Params: { name: string } }>('/reports/:name', async (request, reply) => {
  const answer = await request.upstream.fetch(`/reports/${encodeURIComponent(request.params.name)}`); // as this user
  return reply // an upstream 404 stays a 404
    .code(answer.status)
    .type(answer.headers.get('content-type') ?? 'text/plain')
    .send(await answer.text());
});
app.post('/logout', async (request, reply) => {
  await request.upstream.logout();
  return reply.code(204).send();
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
