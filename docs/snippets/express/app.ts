import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper, tokenKeeperErrors } from '@tokenkeeper/express';
import express from 'express';

const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }) });
const app = express();
app.use(express.json());
app.use(tokenKeeper({ keeper, cookie: { secret: process.env.COOKIE_SECRET! } })); // 32+ random characters

app.post('/login', async (req, res) => {
  res.json(await req.upstream.login(req.body)); // sets the session cookie; { status, expiresAt }, never a token
});
app.get('/reports/:name', async (req, res) => {
  const answer = await req.upstream.fetch(`/reports/${encodeURIComponent(req.params.name)}`); // as this user
  res.status(answer.status).type(answer.headers.get('content-type') ?? 'text/plain'); // an upstream 404 stays a 404
  res.send(await answer.text());
});
app.post('/logout', async (req, res) => {
  await req.upstream.logout();
  res.status(204).end();
});

app.use(tokenKeeperErrors()); // after the routes: an AuthError → its status and { error, message }
export const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
server.on('close', () => keeper.close());
