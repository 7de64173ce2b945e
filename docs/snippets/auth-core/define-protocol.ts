import { checkToken, defineProtocol, parseJsonAnswer, TokenKeeper } from '@tokenkeeper/auth-core';

const baseUrl = process.env.ACME_URL ?? 'https://api.acme.example';

const acme = defineProtocol<{ apiKey: string }>({
  name: 'acme',
  baseUrl,
  async login({ apiKey }, client) {
    const answer = await client.send('login', `${baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey }),
    });
    const body = parseJsonAnswer('login', answer, { invalidCredentials: [401, 403] });
    return {
      accessToken: checkToken(body.jwt, 'jwt', { operation: 'login' }),
      issuedAt: answer.sentAt,
      expiresAt: answer.sentAt + 10 * 60_000,
    };
  },
  // refresh, canRefresh, logout, verifyCredentials, header, scheme, rotatesRefreshTokens: optional
  expirySignal: (response) => response.status === 401 && /invalid_token/.test(response.headers.get('www-authenticate') ?? ''),
});

export const keeper = new TokenKeeper({ protocol: acme, credentials: () => ({ apiKey: process.env.ACME_KEY! }) });
