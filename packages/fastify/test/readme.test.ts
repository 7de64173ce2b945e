import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Browser, PROTOCOLS, SECRET, startUpstream, USER_IDS } from './support.js';

const readme = new URL('../README.md', import.meta.url);
const snippet = new URL('../../../examples/fastify/src/readme.ts', import.meta.url);
const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;

describe('the README', () => {
  it('holds one TypeScript block, and it is examples/fastify/src/readme.ts, character for character', async () => {
    const blocks = [...(await readFile(readme, 'utf8')).matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

    expect(blocks).toEqual([await readFile(snippet, 'utf8')]);
  });

  it("runs its example: a login, the upstream's resource as that user, a logout, then 401 NOT_LOGGED_IN", async () => {
    const { upstream } = await startUpstream(teletracker);
    Object.assign(process.env, { UPSTREAM_URL: upstream.url, COOKIE_SECRET: SECRET, PORT: '0' });
    const { app } = await import('../../../examples/fastify/src/readme.js');
    try {
      const ada = new Browser(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);

      expect(await ada.login(teletracker.credentials('ada'))).toMatchObject({ status: 200, body: { status: 'active' } });
      expect(await ada.get('/calls')).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
      expect((await ada.request('POST', '/logout')).status).toBe(204);
      expect(await ada.get('/calls')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    } finally {
      await app.close();
    }
  });
});
