/**
 * Child-process entry: a fake upstream (`@tokenkeeper/testing`) on its own event loop, so the
 * clients and apps under test do not share it. Started by `startUpstream()`; argv[2] is its options as JSON.
 */
import { type FakeUpstreamOptions, startFakeUpstream } from '@tokenkeeper/testing';
import { serveParent } from './child.js';

const upstream = await startFakeUpstream(JSON.parse(process.argv[2] ?? '{}') as FakeUpstreamOptions);

serveParent(
  upstream.url,
  {
    stats: () => ({ ...upstream.stats, reset: undefined }),
    reset: () => upstream.stats.reset(),
    /** Kills every access token issued so far, as an upstream does when a token expires. */
    expireAccessTokens: () => upstream.expireAccessToken(),
  },
  () => upstream.close(),
);
