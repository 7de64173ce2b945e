#!/usr/bin/env node
// The packages as npm users install them: packs every package under packages/, installs the
// tarballs into a fresh app in a temporary folder outside the workspace, with each framework at
// the lowest version its peer range accepts, and runs one real request through each adapter
// (against @tokenkeeper/testing's fake upstream on loopback, and a private redis-server for
// @tokenkeeper/redis) from an ES-module script, a CommonJS
// script, and a TypeScript app compiled as CommonJS and as ES modules (`module: nodenext`) and
// for a bundler (`moduleResolution: bundler`), type-checked with the oldest TypeScript the READMEs promise and
// with the workspace's. Needs the npm registry; takes a minute or two. `.ci/run` runs it.
//
//   node test/packed/run.mjs            (KEEP_PACKED_APP=1 keeps the app folder for a look)
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('./app', import.meta.url));
/** The oldest TypeScript the READMEs promise for CommonJS consumers on `module: nodenext` (5.8 added require() of ES modules). */
const OLDEST_TYPESCRIPT = '5.8.2';
/** Not a peer of ours, but Nest needs an HTTP platform to serve; it moves in step with @nestjs/core. */
const NEST_PLATFORM = '@nestjs/platform-express';

/** Each TypeScript project compiles app/ts/main.ts with its own tsconfig.json; `format` is what its output must be. */
const TYPESCRIPT_PROJECTS = [
  { project: 'ts-nodenext-cjs', format: 'commonjs' },
  { project: 'ts-nodenext-esm', format: 'module' },
  { project: 'ts-bundler', format: 'module' },
];

const started = Date.now();
let redis;
const work = mkdtempSync(join(tmpdir(), 'tokenkeeper-packed-'));
if (!relative(repo, work).startsWith('..')) throw new Error(`${work} is inside the workspace; set TMPDIR elsewhere`);
const app = join(work, 'app');
const tarballs = join(work, 'tarballs');

/** npm and pnpm children get no npm_* variables from a parent pnpm: the app must see a plain npm. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));

/** Runs one command; `quiet` keeps its output unless it fails (pnpm pack lists every file it packs). */
function step(title, command, args, { quiet = false, ...options } = {}) {
  console.log(`== ${title}`);
  const result = spawnSync(command, args, { stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8', env, timeout: 300_000, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    if (quiet) process.stdout.write(`${result.stdout}${result.stderr}`);
    throw new Error(`${title}: ${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
  return quiet ? `${result.stdout}${result.stderr}` : '';
}

/** A private redis-server on a free loopback port, for the Redis scenario (`.ci/run` installs redis-server). */
async function startRedis(dir) {
  mkdirSync(dir);
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${output}`)), 10_000);
    server.once('error', (error) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error('redis-server is not installed (apt-get install redis-server; .ci/run does)') : error);
    });
    server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
    server.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const stop = () => server.kill('SIGTERM');
  process.once('exit', stop); // even when a step fails past the finally below
  return { url: `redis://127.0.0.1:${port}`, stop };
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** The lowest version a peer range accepts. Only the forms our manifests use; anything else is a mistake here. */
function lowest(name, range) {
  const match = /^(?:\^|>=\s*)?(\d+\.\d+\.\d+)$/.exec(range.trim());
  if (!match) throw new Error(`${name}: peer range "${range}" is not ^x.y.z or >=x.y.z; teach test/packed/run.mjs its lowest version`);
  return match[1];
}

const compare = (a, b) => {
  const [x, y] = [a, b].map((version) => version.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

try {
  step('build (tsc -b)', process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: repo });
  step('pack every package', 'npx', ['--yes', 'pnpm@10.34.9', '-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballs], {
    cwd: repo,
    quiet: true,
  });

  const manifests = readdirSync(join(repo, 'packages'))
    .filter((folder) => existsSync(join(repo, 'packages', folder, 'package.json')))
    .map((folder) => readJson(join(repo, 'packages', folder, 'package.json')))
    .filter((manifest) => !manifest.private);
  const dependencies = {};
  const peers = {};
  for (const manifest of manifests) {
    const tarball = `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`;
    if (!existsSync(join(tarballs, tarball))) throw new Error(`pnpm pack made no ${tarball}`);
    dependencies[manifest.name] = `file:../tarballs/${tarball}`;
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
      if (manifest.peerDependenciesMeta?.[peer]?.optional) continue;
      const version = lowest(peer, range);
      if (!peers[peer] || compare(version, peers[peer]) > 0) peers[peer] = version; // must satisfy every range
    }
  }
  const workspace = readJson(join(repo, 'package.json')).devDependencies;
  const devDependencies = {
    typescript: workspace.typescript,
    'typescript-oldest': `npm:typescript@${OLDEST_TYPESCRIPT}`,
    '@types/node': workspace['@types/node'],
    '@types/express': workspace['@types/express'],
    '@types/koa': workspace['@types/koa'],
  };
  Object.assign(dependencies, peers, { [NEST_PLATFORM]: peers['@nestjs/core'] });

  cpSync(fixtures, app, { recursive: true });
  for (const { project } of TYPESCRIPT_PROJECTS) cpSync(join(app, 'ts', 'main.ts'), join(app, project, 'main.ts'));
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'packed-app', private: true, dependencies, devDependencies }, null, 2)}\n`,
  );
  console.log('peers at the lowest version of their range:', JSON.stringify(peers));

  const install = ['install', '--no-audit', '--no-fund', '--loglevel=warn'];
  let installed;
  try {
    installed = step('npm install the tarballs and the frameworks', 'npm', install, { cwd: app, quiet: true });
  } catch (error) {
    // One more try for a registry hiccup; a peer conflict (ERESOLVE) fails the same way twice.
    console.log(String(error));
    installed = step('npm install, second try', 'npm', install, { cwd: app, quiet: true });
  }
  // npm only warns when it overrides a peer range somewhere down the tree; for us that is a failure.
  // (EBADENGINE warnings stay: NestJS and Fastify pull dependencies that declare Node >= 22 but are not loaded.)
  process.stdout.write(installed);
  if (/ERESOLVE/.test(installed)) throw new Error('npm had to override a peer dependency range (ERESOLVE above)');

  for (const [name, version] of Object.entries(peers)) {
    const installed = readJson(join(app, 'node_modules', name, 'package.json')).version;
    if (installed !== version) throw new Error(`${name}: wanted ${version}, npm installed ${installed}`);
  }
  const copies = spawnSync('npm', ['ls', '--all', '--parseable', '@tokenkeeper/auth-core'], { cwd: app, env, encoding: 'utf8' });
  const paths = copies.stdout.split('\n').filter((line) => line.endsWith('auth-core'));
  if (paths.length !== 1) throw new Error(`expected one copy of @tokenkeeper/auth-core, found ${paths.length}:\n${paths.join('\n')}`);

  redis = await startRedis(join(work, 'redis'));
  env.REDIS_URL = redis.url;
  step('ES module script (import)', process.execPath, ['esm.mjs'], { cwd: app });
  step('CommonJS script (require)', process.execPath, ['cjs.cjs'], { cwd: app });
  for (const { project, format } of TYPESCRIPT_PROJECTS) {
    step(
      `${project}: type-check with TypeScript ${OLDEST_TYPESCRIPT}`,
      process.execPath,
      ['node_modules/typescript-oldest/bin/tsc', '-p', project, '--noEmit'],
      { cwd: app },
    );
    step(
      `${project}: compile with TypeScript ${workspace.typescript}`,
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', project],
      {
        cwd: app,
      },
    );
    step(`${project}: run`, process.execPath, [join(project, 'dist', 'main.js'), project, format], { cwd: app });
  }
  console.log(`== packed install: all passed in ${Math.round((Date.now() - started) / 1000)} s`);
} finally {
  redis?.stop();
  if (process.env.KEEP_PACKED_APP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
