/**
 * What npm users install: each package depends on its tokenkeeper siblings with a caret range
 * (an exact version made a second copy of auth-core, and `keeper must be a TokenKeeper`, on every
 * patch release of it), each ships the MIT licence its manifest names, and each says where it
 * lives (repository, homepage, bugs, keywords) and that it is published publicly. Every folder
 * under packages/ is checked, so a new package cannot skip any of it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const names = readdirSync(`${root}packages`);

const REPOSITORY = 'https://github.com/tokenkeeper/tokenkeeper';

interface Manifest {
  name?: string;
  private?: boolean;
  license?: string;
  keywords?: unknown;
  homepage?: unknown;
  bugs?: unknown;
  repository?: unknown;
  publishConfig?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

describe.each(names)('the @tokenkeeper/%s manifest', (name) => {
  const manifest = JSON.parse(readFileSync(`${root}packages/${name}/package.json`, 'utf8')) as Manifest;

  it('depends on other tokenkeeper packages with a caret range (workspace:^), never an exact version', () => {
    for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
      if (dependency.startsWith('@tokenkeeper/')) expect(range, dependency).toBe('workspace:^');
    }
  });

  it('is public, named after its folder, and says where its source, docs and issue tracker are', () => {
    expect(manifest.private).toBeUndefined();
    expect(manifest.name).toBe(`@tokenkeeper/${name}`);
    expect(manifest.publishConfig).toEqual({ access: 'public' });
    expect(manifest.repository).toEqual({ type: 'git', url: `git+${REPOSITORY}.git`, directory: `packages/${name}` });
    expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/packages/${name}#readme`);
    expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` });
  });

  it('has keywords that find it on npm, tokenkeeper first', () => {
    expect(Array.isArray(manifest.keywords)).toBe(true);
    const keywords = manifest.keywords as unknown[];
    expect(keywords[0]).toBe('tokenkeeper');
    expect(keywords.length).toBeGreaterThanOrEqual(3);
    for (const keyword of keywords) expect(keyword).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(new Set(keywords).size).toBe(keywords.length);
  });

  it('is MIT and ships a LICENSE file', () => {
    expect(manifest.license).toBe('MIT');
    expect(existsSync(`${root}packages/${name}/LICENSE`)).toBe(true);
    expect(readFileSync(`${root}packages/${name}/LICENSE`, 'utf8')).toMatch(/^MIT License/);
  });
});

/** Every workspace project's manifest (pnpm-workspace.yaml: packages/*, examples/*, bench), by package name. */
function workspaceManifests(): Map<string, Manifest> {
  const folders = [
    ...readdirSync(`${root}packages`).map((name) => `packages/${name}`),
    ...readdirSync(`${root}examples`).map((name) => `examples/${name}`),
    'bench',
  ];
  const manifests = new Map<string, Manifest>();
  for (const folder of folders) {
    if (!existsSync(`${root}${folder}/package.json`)) continue;
    const manifest = JSON.parse(readFileSync(`${root}${folder}/package.json`, 'utf8')) as Manifest & { name: string };
    manifests.set(manifest.name, manifest);
  }
  return manifests;
}

/*
 * auth-core's own tests use the fake upstream, and the fake upstream is built on auth-core (its
 * `fakeUpstreamPreset` returns auth-core presets, its types are auth-core's). The cycle was only
 * ever a test-time edge, so it is cut there: auth-core does not list `@tokenkeeper/testing`, and
 * its tests find it in the workspace root's devDependencies, where vitest, typescript and
 * @types/node come from for every package's tests (the root runs them all in one vitest).
 */
describe('the workspace', () => {
  it('has no dependency cycle between its projects, counting devDependencies (pnpm warned on every install)', () => {
    const manifests = workspaceManifests();
    const edges = (name: string) =>
      Object.keys({
        ...manifests.get(name)?.dependencies,
        ...manifests.get(name)?.devDependencies,
        ...manifests.get(name)?.peerDependencies,
        ...manifests.get(name)?.optionalDependencies,
      }).filter((dependency) => manifests.has(dependency));
    const cycles: string[] = [];
    const visit = (name: string, path: string[]) => {
      for (const next of edges(name)) {
        if (path.includes(next)) cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
        else visit(next, [...path, next]);
      }
    };
    for (const name of manifests.keys()) visit(name, [name]);
    expect([...new Set(cycles)]).toEqual([]);
  });
});
