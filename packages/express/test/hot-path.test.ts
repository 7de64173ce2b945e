import { createServer } from 'node:http';
import { RequestSession, refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import express, { type Request } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '../../../test/support/adapter-fixtures.js';
import { countHeaderReads, readsReported } from '../../../test/support/header-reads.js';
import { type TokenKeeperMiddlewareOptions, tokenKeeper } from '../src/index.js';

/** How often the middleware read `req.headers` (which Node builds on first use) before the route ran. */
async function headerReadsBy(options: Omit<TokenKeeperMiddlewareOptions, 'keeper'>): Promise<number> {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.teletracker.example' }) });
  const app = express();
  app.use((req, _res, next) => {
    Object.assign(req, { headerReads: countHeaderReads(req) });
    next();
  });
  app.use(tokenKeeper({ keeper, ...options } as TokenKeeperMiddlewareOptions));
  app.get('/reads', (req, res) => {
    res.json({ reads: (req as unknown as { headerReads: () => number }).headerReads() });
  });
  try {
    return await readsReported(app);
  } finally {
    await keeper.close();
  }
}

const keepers: TokenKeeper[] = [];
afterEach(async () => {
  await Promise.all(keepers.splice(0).map((keeper) => keeper.close()));
});

/** tokenKeeper() keyed by the `user` query parameter, on a keeper that is closed after the test. */
function middleware() {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.teletracker.example' }) });
  keepers.push(keeper);
  return tokenKeeper({ keeper, sessionKey: (req) => req.query.user });
}

/** What `req.upstream` looks like to a route: its session key, whether it is a RequestSession, and whether it is an own property. */
function described(req: Request) {
  return { key: req.upstream?.key, session: req.upstream instanceof RequestSession, own: Object.hasOwn(req, 'upstream') };
}

async function get(app: express.Express, path: string): Promise<unknown> {
  const answer = await fetch(`${await serve(createServer(app).listen(0, '127.0.0.1'))}${path}`);
  return answer.json();
}

describe('tokenKeeper() on the hot path', () => {
  it('adds no property to the Express request (V8 copies the shape of a request for every property added)', async () => {
    const app = express();
    app.use(middleware());
    app.get('/upstream', (req, res) => {
      res.json(described(req));
    });
    expect(await get(app, '/upstream?user=ada')).toEqual({ key: 'ada', session: true, own: false });
  });

  it("keeps each request's own session: two apps, and requests in flight at once", async () => {
    const [first, second] = [express(), express()];
    for (const app of [first, second]) {
      app.use(middleware());
      app.get('/later', async (req, res) => {
        await new Promise((resolve) => setTimeout(resolve, 20)); // other requests get their sessions meanwhile
        res.json(described(req));
      });
    }
    const answers = await Promise.all(
      ['ada', 'grace', 'alan'].flatMap((user) => [get(first, `/later?user=${user}`), get(second, `/later?user=${user}-2`)]),
    );
    expect(answers.map((answer) => (answer as { key: string }).key)).toEqual(['ada', 'ada-2', 'grace', 'grace-2', 'alan', 'alan-2']);
  });

  it('keeps req.upstream through a mounted sub-app and after it, whichever app attached it', async () => {
    const parent = express();
    const child = express();
    child.use('/inner', middleware()); // no route of the child's matches: the parent's answers
    parent.use('/sub', child);
    parent.get('/sub/inner', (req, res) => {
      res.json(described(req));
    });
    child.get('/seen', (req, res) => {
      res.json(described(req));
    });
    parent.use('/seen-by-child', middleware());
    parent.use('/seen-by-child', child);
    expect(await get(parent, '/sub/inner?user=grace')).toEqual({ key: 'grace', session: true, own: false });
    expect(await get(parent, '/seen-by-child/seen?user=ada')).toEqual({ key: 'ada', session: true, own: false });
  });

  it("lets an app's own middleware replace req.upstream, as it could a property", async () => {
    const app = express();
    app.use(middleware());
    app.use((req, _res, next) => {
      req.upstream = new RequestSession(req.upstream.keeper, 'replaced');
      next();
    });
    app.get('/upstream', (req, res) => {
      res.json(described(req));
    });
    expect(await get(app, '/upstream?user=ada')).toEqual({ key: 'replaced', session: true, own: false });
  });

  it('sets req.upstream as a property on a request that is not an Express one (a unit test of a middleware chain)', () => {
    const req = { query: { user: 'ada' }, headers: {} } as unknown as Request;
    let passed = false;
    middleware()(req, {} as express.Response, () => {
      passed = true;
    });
    expect({ passed, ...described(req) }).toEqual({ passed: true, key: 'ada', session: true, own: true });
  });

  it('leaves req.headers unbuilt when sessions come from a sessionKey function that does not read them', async () => {
    expect(await headerReadsBy({ sessionKey: () => 'user-1' })).toBe(0);
  });

  it('leaves req.headers unbuilt with the built-in cookie too: the Cookie header is read from rawHeaders', async () => {
    expect(await headerReadsBy({ cookie: { secret: 'a test-only cookie secret, 32+ characters long', secure: false } })).toBe(0);
  });
});
