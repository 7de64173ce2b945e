/**
 * Reads a V8 CPU profile (`.cpuprofile`, from `node --cpu-prof` or the inspector's `Profiler`)
 * and says where tokenkeeper's time goes: every sample is charged to the innermost tokenkeeper
 * frame on its stack, unless a "boundary" frame (the HTTP client itself: undici's `fetch`, an axios
 * adapter) comes first, whose work is the same with or without tokenkeeper. So a `new Headers()`
 * that `AuthorizedSender` builds is tokenkeeper's, but the socket write inside `fetch` is not, nor
 * is undici's work beneath the dispatcher and handler that `request-bound` wraps around undici's
 * own (they pass every call through; only their own frames are charged).
 */
import type { Profiler, Runtime } from 'node:inspector';

export interface Charged {
  /** `function file:line` of the tokenkeeper frame charged. */
  frame: string;
  micros: number;
  /** The leaf frames under it that took most of that time (where its own time went). */
  leaves: Map<string, number>;
}

export interface ProfileSummary {
  /** Self time of every function, µs (for {@link diffProfiles}). */
  self: Map<string, number>;
  /** All sampled time that was not idle, µs. */
  busyMicros: number;
  /** Time charged to tokenkeeper frames, µs. */
  tokenkeeperMicros: number;
  gcMicros: number;
  frames: Charged[];
}

const IDLE = new Set(['(idle)', '(program)']);

/** A tokenkeeper source or build file (`packages/<name>/src|dist/…`), not a dependency. */
function isOurs(url: string): boolean {
  return /\/packages\/[^/]+\/(src|dist)\//.test(url) && !url.includes('node_modules');
}

/** Where the HTTP client's own work begins: the same work with a hard-coded header. */
function isBoundary(frame: Runtime.CallFrame): boolean {
  if (frame.functionName === 'fetch' && frame.url.includes('undici')) return true;
  // The app's and framework's own code that a middleware hands on to with `next()`.
  return /\/axios\/lib\/adapters\/|\/node_modules\/(\.pnpm\/)?(express|koa|@koa|fastify|router)|\/bench\/dist\//.test(frame.url);
}

/** `request-bound`'s dispatcher and handler, which undici calls and which call undici on. */
function isPassThrough(frame: Runtime.CallFrame): boolean {
  return /\/request-bound\.[jt]s$/.test(frame.url);
}

function nameOf(frame: Runtime.CallFrame): string {
  const file = frame.url.replace(/^.*\/packages\//, '').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(profile: Profiler.Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const charged = new Map<string, Charged>();
  const self = new Map<string, number>();
  let busyMicros = 0;
  let gcMicros = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let index = 0; index < samples.length; index++) {
    const micros = deltas[index + 1] ?? 0; // a sample lasts until the next one
    const leaf = byId.get(samples[index]!)!;
    if (IDLE.has(leaf.callFrame.functionName)) continue;
    busyMicros += micros;
    const leafName = nameOf(leaf.callFrame);
    self.set(leafName, (self.get(leafName) ?? 0) + micros);
    if (leaf.callFrame.functionName === '(garbage collector)') {
      gcMicros += micros;
      continue;
    }
    let inUndici = false;
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (isBoundary(frame)) break;
      if (!isOurs(frame.url)) {
        inUndici ||= frame.url.includes('undici');
        continue;
      }
      if (inUndici && isPassThrough(frame)) break; // undici's own work, passed through
      const name = nameOf(frame);
      const entry = charged.get(name) ?? { frame: name, micros: 0, leaves: new Map() };
      entry.micros += micros;
      const leafName = leaf.id === id ? '(self)' : nameOf(leaf.callFrame);
      entry.leaves.set(leafName, (entry.leaves.get(leafName) ?? 0) + micros);
      charged.set(name, entry);
      break;
    }
  }
  const frames = [...charged.values()].sort((a, b) => b.micros - a.micros);
  return { self, busyMicros, gcMicros, tokenkeeperMicros: frames.reduce((sum, frame) => sum + frame.micros, 0), frames };
}

/** The summary as lines of text, per request. */
export function describeProfile(summary: ProfileSummary, requests: number, top = 10): string[] {
  const per = (micros: number) => (micros / requests).toFixed(2);
  const lines = [
    `${requests} requests: ${per(summary.busyMicros)} µs CPU each sampled, ${per(summary.tokenkeeperMicros)} µs charged to tokenkeeper frames, ${per(summary.gcMicros)} µs in GC (anyone's)`,
  ];
  for (const frame of summary.frames.slice(0, top)) {
    const leaves = [...frame.leaves.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([leaf, micros]) => `${leaf.replace(/ .*$/, '')} ${per(micros)}`)
      .join(', ');
    lines.push(`  ${per(frame.micros).padStart(6)} µs  ${frame.frame}  (${leaves})`);
  }
  return lines;
}

/**
 * What a variant spends more than the baseline, per request, function by function (self time):
 * this also shows extra work tokenkeeper causes inside `fetch` or the garbage collector.
 */
export function diffProfiles(
  variant: ProfileSummary,
  variantRequests: number,
  baseline: ProfileSummary,
  baselineRequests: number,
  top = 12,
): string[] {
  const names = new Set([...variant.self.keys(), ...baseline.self.keys()]);
  const diffs = [...names].map((name) => ({
    name,
    micros: (variant.self.get(name) ?? 0) / variantRequests - (baseline.self.get(name) ?? 0) / baselineRequests,
  }));
  diffs.sort((a, b) => b.micros - a.micros);
  const total = variant.busyMicros / variantRequests - baseline.busyMicros / baselineRequests;
  return [
    `  vs baseline: ${total.toFixed(2)} µs more CPU per request sampled; the functions that grew most (self time):`,
    ...diffs.slice(0, top).map(({ name, micros }) => `  ${micros.toFixed(2).padStart(6)} µs  ${name}`),
  ];
}
