/**
 * Child-process entry for scenario 8's client rows: one way of calling the fake upstream, sent
 * on command so the parent can count each window under callgrind. argv[2] is the upstream's URL,
 * argv[3] the caller: `fetch` (a hard-coded header), `session.fetch`, `axios` (a hard-coded
 * header) or `axios+tokenkeeper` (the interceptor). Every answer's body is read, as an app would.
 */
import { Agent } from 'node:http';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import axios from 'axios';
import { serveParent } from './child.js';
import { ADA } from './upstream.js';

type Caller = 'fetch' | 'session.fetch' | 'axios' | 'axios+tokenkeeper';

const [upstreamUrl, caller] = process.argv.slice(2) as [string, Caller];
const PATH = '/reports/call-data';
const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstreamUrl }), keepAlive: false });
const session = keeper.session('ada');
await session.login(ADA);
const token = await session.token();
const url = `${upstreamUrl}${PATH}`;
const httpAgent = new Agent({ keepAlive: true });

function callOf(name: Caller): () => Promise<unknown> {
  switch (name) {
    case 'fetch':
      return async () => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    case 'session.fetch':
      return async () => (await session.fetch(PATH)).arrayBuffer();
    case 'axios': {
      const api = axios.create({ baseURL: upstreamUrl, httpAgent, headers: { authorization: `Bearer ${token}` } });
      return () => api.get(PATH);
    }
    case 'axios+tokenkeeper': {
      const api = axios.create({ baseURL: upstreamUrl, httpAgent });
      installTokenKeeper(api, { session });
      return () => api.get(PATH);
    }
    default:
      throw new Error(`unknown caller ${String(name)}`);
  }
}

const call = callOf(caller);
await call();

serveParent(
  { caller },
  {
    /** `count` sequential calls. */
    send: async (count: number) => {
      for (let index = 0; index < count; index++) await call();
    },
  },
  async () => {
    httpAgent.destroy();
    await keeper.close();
  },
);
