import Fastify, { type FastifyReply } from 'fastify';
import {
  type AppOptions,
  Browser,
  type ProtocolCase,
  SECRET,
  serve,
  startUpstream,
  type TestApp,
} from '../../../test/support/adapter-fixtures.js';
import { type TokenKeeperPluginOptions, tokenKeeper } from '../src/index.js';

export * from '../../../test/support/adapter-fixtures.js';

/** A Fastify app with the tokenKeeper plugin in front of a few routes, against a fake upstream; closed after the test. */
export async function startApp(
  protocol: ProtocolCase,
  options: AppOptions & { middleware?: Partial<TokenKeeperPluginOptions> } = {},
): Promise<TestApp> {
  const { upstream, keeper, clock } = await startUpstream(protocol, options);
  const app = Fastify();
  await app.register(tokenKeeper, { keeper, ...(options.middleware ?? { cookie: { secret: SECRET } }) });
  app.post('/login', async (request, reply) => {
    await request.upstream.login(request.body);
    return reply.code(204).send();
  });
  app.get('/me', async (request, reply) => relay(await request.upstream.fetch('/whoami'), reply));
  app.get('/data', async (request, reply) => relay(await request.upstream.fetch(protocol.resource), reply));
  app.post('/switch', async (request) => request.upstream.switchAccount((request.body as { accountId: number }).accountId));
  app.post('/logout', async (request, reply) => {
    await request.upstream.logout();
    return reply.code(204).send();
  });
  app.get('/boom', async () => {
    throw new Error('not an AuthError');
  });

  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = await serve(app.server);
  return { url, upstream, keeper, clock, protocol, browser: () => new Browser(url) };
}

/** Passes an upstream answer on to the client. */
export async function relay(upstream: Response, reply: FastifyReply): Promise<FastifyReply> {
  const body = Buffer.from(await upstream.arrayBuffer());
  return reply
    .code(upstream.status)
    .type(upstream.headers.get('content-type') ?? 'text/plain')
    .send(body);
}
