import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Browser, PROTOCOLS, SECRET, startUpstream, USER_IDS } from './support.js';

const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;

// The README's block is examples/fastify/src/readme.ts (test/snippets.test.ts keeps them equal).
describe('the README example', () => {
  it("runs: a login, the upstream's report as that user, an upstream 404 passed on, a logout, then 401 NOT_LOGGED_IN", async () => {
    const { upstream } = await startUpstream(teletracker);
    Object.assign(process.env, { UPSTREAM_URL: upstream.url, COOKIE_SECRET: SECRET, PORT: '0' });
    const { app } = await import('../../../examples/fastify/src/readme.js');
    try {
      const ada = new Browser(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);

      expect(await ada.login(teletracker.credentials('ada'))).toMatchObject({ status: 200, body: { status: 'active' } });
      expect(await ada.get('/reports/call-data')).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
      expect((await ada.get('/reports/no-such-report')).status).toBe(404);
      expect((await ada.request('POST', '/logout')).status).toBe(204);
      expect(await ada.get('/reports/call-data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    } finally {
      await app.close();
    }
  });
});
