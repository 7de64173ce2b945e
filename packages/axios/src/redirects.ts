import axios, { type AxiosAdapter, AxiosHeaders, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';

/** How an adapter call ended: an answer, or an error (with the upstream's answer when there was one). */
export type Outcome = { response: AxiosResponse; error?: undefined } | { response: AxiosResponse | undefined; error: unknown };

export async function settle(sending: Promise<AxiosResponse>): Promise<Outcome> {
  try {
    return { response: await sending };
  } catch (error) {
    return { response: axios.isAxiosError(error) ? error.response : undefined, error };
  }
}

export function isSettledResponse(outcome: Outcome): outcome is { response: AxiosResponse } {
  return outcome.error === undefined;
}

/** Lets go of an answer that is not handed back: a stream body is destroyed, not left open. */
export function discard(response: AxiosResponse): void {
  const data = response.data as { destroy?: () => void; cancel?: () => Promise<void> } | null | undefined;
  if (typeof data?.destroy === 'function') data.destroy();
  else if (typeof data?.cancel === 'function') data.cancel().catch(() => {});
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_REDIRECTS = 20;

/**
 * Sends through axios's `fetch` adapter, following redirects here rather than in `fetch`, which
 * keeps a custom token header across origins: `authorize` adds the token to each hop until one
 * hop leaves the origin, and to none after that, even if the chain comes back. A request that
 * does not follow redirects (`maxRedirects: 0`, `fetchOptions.redirect`) is sent once.
 *
 * @param url The first hop's full URL, on the protocol's origin.
 */
export async function followByHand(
  adapter: AxiosAdapter,
  config: InternalAxiosRequestConfig,
  url: string,
  authorize: (hop: InternalAxiosRequestConfig) => InternalAxiosRequestConfig,
  authorizes: (url: string) => boolean,
): Promise<Outcome> {
  const redirect = (config.fetchOptions as RequestInit | undefined)?.redirect ?? 'follow';
  if (config.maxRedirects === 0 || redirect !== 'follow') return settle(adapter(authorize(config)));
  const maxRedirects = config.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let hop: InternalAxiosRequestConfig = { ...config, maxRedirects: 0 };
  let current = url;
  let home = true;
  for (let count = 0; ; count++) {
    const outcome = await settle(adapter(home ? authorize(hop) : hop));
    const { response } = outcome;
    const location = response && REDIRECTS.has(response.status) ? locationOf(response) : undefined;
    if (!response || location === undefined || count >= maxRedirects) return outcome;
    const keepsBody = response.status === 307 || response.status === 308;
    if (keepsBody && isStream(hop.data)) return outcome; // a stream cannot be sent twice
    discard(response);
    current = new URL(location, current).href;
    home &&= authorizes(current);
    hop = { ...hop, url: current, baseURL: undefined, params: undefined, allowAbsoluteUrls: true };
    const method = (hop.method ?? 'get').toLowerCase();
    if (!keepsBody && method !== 'get' && method !== 'head') {
      const headers = new AxiosHeaders(hop.headers);
      headers.delete('content-type');
      hop = { ...hop, method: 'get', data: undefined, headers };
    }
  }
}

function locationOf(response: AxiosResponse): string | undefined {
  const location = (response.headers as Record<string, unknown>).location;
  return typeof location === 'string' ? location : undefined;
}

function isStream(data: unknown): boolean {
  return data instanceof ReadableStream || typeof (data as { pipe?: unknown } | null)?.pipe === 'function';
}
