import { TokenKeeper } from '@tokenkeeper/auth-core';
import { connectRoutes, tokenKeeper, tokenKeeperErrors } from '@tokenkeeper/express';
import { oauth2, oauthConnect } from '@tokenkeeper/oauth2';
import express from 'express';

const env = (name: string): string => process.env[name] || fail(name);
const publicUrl = env('PUBLIC_URL'); // where browsers reach this app, e.g. https://app.example

const protocol = oauth2(
  { issuer: env('OAUTH_ISSUER') }, // the provider's metadata is discovered once, on first use
  { baseUrl: env('API_URL'), clientId: env('CLIENT_ID'), clientSecret: env('CLIENT_SECRET'), scope: 'openid offline_access' },
);
const keeper = new TokenKeeper({ protocol });
const connect = oauthConnect({ protocol, redirectUri: `${publicUrl}/callback`, secret: env('CONNECT_SECRET') });

export const app: express.Express = express();
app.use(tokenKeeper({ keeper, cookie: { secret: env('COOKIE_SECRET'), secure: publicUrl.startsWith('https:') } }));
app.use(connectRoutes(connect)); // GET /connect → the provider's sign-in → GET /callback → back, connected

app.get('/', async (req, res) => {
  const { status, claims } = await req.upstream.state();
  res.type('html').send(status === 'none' ? '<a href="/connect?returnTo=/me">Connect</a>' : `<p>Connected as ${String(claims?.sub)}</p>`);
});
app.get('/me', async (req, res) => {
  const answer = await req.upstream.fetch('/me'); // as this user; renewed and refreshed as needed
  res
    .status(answer.status)
    .type('json')
    .send(await answer.text());
});
app.post('/logout', async (req, res) => {
  await req.upstream.logout(); // revokes the grant at the provider
  res.redirect(303, '/');
});
app.use(tokenKeeperErrors()); // AuthError → its status and { error, message }

export const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
server.on('close', () => void keeper.close());

function fail(name: string): never {
  throw new TypeError(`set ${name}`);
}
