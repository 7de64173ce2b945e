import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper, tokenKeeperErrors } from '@tokenkeeper/express';
import express from 'express';

/** An app whose users log in to one of their accounts and may switch to another later. */
export function accountsApp(baseUrl: string, cookieSecret: string) {
  const keeper = new TokenKeeper({
    protocol: refreshToken({
      baseUrl, // e.g. 'https://api.teletracker.example'
      masquerade: { path: '/auth/masquerade', accountField: 'account_id' }, // the defaults
    }),
  });
  const app = express();
  app.use(express.json());
  app.use(tokenKeeper({ keeper, cookie: { secret: cookieSecret } }));

  // { username, password, account_id? }: without an account, the user's default one.
  app.post('/login', async (req, res) => {
    res.json(await req.upstream.login(req.body));
  });
  // The new tokens replace the old under the same session; an account the user may not use is 403 ACCESS_DENIED.
  app.post('/accounts/:id', async (req, res) => {
    const accountId = Number(req.params.id);
    if (!Number.isSafeInteger(accountId)) return void res.status(400).json({ error: 'account ids are integers' });
    res.json(await req.upstream.switchAccount(accountId));
  });
  app.get('/calls', async (req, res) => {
    res.json(await (await req.upstream.fetch('/reports/call-data')).json());
  });
  app.use(tokenKeeperErrors());
  return { app, keeper };
}
