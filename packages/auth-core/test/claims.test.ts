/** Claims: what a protocol learned about the user, kept with the tokens and shown by state(), never a token. */
import { describe, expect, it } from 'vitest';
import { AuthError, defineProtocol, TokenKeeper } from '../src/index.js';

function keeperWith(claims: unknown) {
  const protocol = defineProtocol<Record<string, never>>({
    name: 'claims',
    baseUrl: 'http://127.0.0.1:9/',
    async login(_credentials, client) {
      const now = client.now();
      return { accessToken: 'access-token-value', issuedAt: now, expiresAt: now + 60_000, claims } as never;
    },
  });
  return new TokenKeeper({ protocol });
}

describe('claims', () => {
  it('shows the claims a login returned on state(), without the token', async () => {
    const keeper = keeperWith({ sub: 'ada', groups: ['ops'] });
    const state = await keeper.login('ada', {});

    expect(state.claims).toEqual({ sub: 'ada', groups: ['ops'] });
    expect(await keeper.state('ada')).toMatchObject({ status: 'active', claims: { sub: 'ada' } });
    expect(JSON.stringify(state)).not.toContain('access-token-value');
    await keeper.close();
  });

  it('leaves claims out of state() when the protocol has none', async () => {
    const keeper = keeperWith(undefined);
    expect(await keeper.login('ada', {})).not.toHaveProperty('claims');
    await keeper.close();
  });

  it.each([
    ['an array', ['sub'], 'upstream login answer: claims are not an object'],
    ['a string', 'sub=ada', 'upstream login answer: claims are not an object'],
    ['over 8 KB', { big: 'x'.repeat(9000) }, 'upstream login answer: claims are larger than 8192 bytes'],
  ])('refuses claims that are %s with UPSTREAM_MALFORMED, and keeps no session', async (_name, claims, message) => {
    const keeper = keeperWith(claims);

    const error = await keeper.login('ada', {}).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('UPSTREAM_MALFORMED');
    expect((error as AuthError).message).toBe(message);
    expect((await keeper.state('ada')).status).toBe('none');
    await keeper.close();
  });
});
