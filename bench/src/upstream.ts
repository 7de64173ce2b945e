/** The fake upstream in a child process, seen from the scenario that drives it. */
import type { FakeStats, FakeUpstreamOptions } from '@tokenkeeper/testing';
import { startChild } from './child.js';

export type UpstreamStats = Omit<FakeStats, 'reset'>;

export interface RemoteUpstream {
  url: string;
  stats(): Promise<UpstreamStats>;
  resetStats(): Promise<void>;
  /** Every access token issued so far stops working now. */
  expireAccessTokens(): Promise<void>;
  close(): Promise<void>;
}

/** Seed 001's user in the fake upstream's default users. */
export const ADA = { username: 'ada', password: 'ada-password-1' } as const;

export async function startUpstream(options: FakeUpstreamOptions): Promise<RemoteUpstream> {
  const child = await startChild<string>('upstream-host', [JSON.stringify(options)]);
  return {
    url: child.ready,
    stats: () => child.call<UpstreamStats>('stats'),
    resetStats: () => child.call('reset'),
    expireAccessTokens: () => child.call('expireAccessTokens'),
    close: () => child.close(),
  };
}
