import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/fastify';
import Fastify from 'fastify';

const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL! }) });
export const app = Fastify();
app.addHook('onClose', () => keeper.close());
await app.register(tokenKeeper, { keeper, cookie: { secret: process.env.COOKIE_SECRET! } });

app.post('/login', async (request) => request.upstream.login(request.body));
app.get('/calls', async (request) => (await request.upstream.fetch('/reports/call-data')).json());
app.post('/logout', async (request, reply) => {
  await request.upstream.logout();
  return reply.code(204).send();
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
