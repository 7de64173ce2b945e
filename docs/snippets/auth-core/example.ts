import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';

const keeper = new TokenKeeper({
  protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }),
});

// once, when the user connects their upstream account
const session = keeper.session('user-42');
await session.login({ username: 'ada', password: process.env.UPSTREAM_PASSWORD! });

// any time later: the token is renewed, refreshed and retried for you
const response = await session.fetch('/reports/call-data');
console.log(await response.json());

await keeper.close(); // stops every timer; the process can exit
