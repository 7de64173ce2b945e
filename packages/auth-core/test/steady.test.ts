import { describe, expect, it } from 'vitest';
import { PROTOCOLS, setup } from './harness.js';

describe.each(PROTOCOLS)('steady traffic with the $name preset', (protocol) => {
  it.each([false, true])('sees zero rejected requests across three token lifetimes (keep-alive %s)', async (keepAlive) => {
    const { upstream, keeper, clock } = await setup(protocol.name, { keepAlive });
    const users = ['ada', 'grace'] as const;
    for (const user of users) await keeper.session(user).login(protocol.credentials(user));
    const step = protocol.lifetimeMs / 40;
    for (let tick = 0; tick < 120; tick++) {
      await clock.advance(step);
      const responses = await Promise.all(
        users.flatMap((user) => [keeper.session(user).fetch(protocol.resource), keeper.session(user).fetch('/whoami')]),
      );
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    }
    expect(upstream.stats.rejected).toBe(0);
    expect(upstream.stats.logins).toBe(2);
    expect(protocol.renewals(upstream)).toBeGreaterThanOrEqual(2 * 3 - 1);
    expect(upstream.stats.reuseDetections).toBe(0);
  });
});
