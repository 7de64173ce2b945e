/**
 * Runs every benchmark and prints its tables, then a summary. `pnpm bench` for the figures;
 * `--smoke` for a seconds-long run that only proves each scenario still starts and prints;
 * `--only=name[,name]` (core, servers, expiry, herd, scale, instances, oauth2) to run some of them.
 * `--only=instructions` runs the one scenario a plain run leaves out: the apps under valgrind,
 * counted in instructions per request (some 30 minutes; valgrind must be on PATH).
 */
import { cpus } from 'node:os';
import { benchCore } from './core.js';
import { benchExpiry } from './expiry.js';
import { benchHerd } from './herd.js';
import { benchInstances } from './instances.js';
import { benchInstructions } from './instructions.js';
import { printTable, smoke, summary } from './measure.js';
import { benchOAuth2 } from './oauth2.js';
import { benchScale } from './scale.js';
import { benchServers } from './servers.js';

const scenarios: Record<string, () => Promise<void>> = {
  core: benchCore,
  servers: benchServers,
  expiry: benchExpiry,
  herd: benchHerd,
  scale: benchScale,
  instances: benchInstances,
  oauth2: benchOAuth2,
};
/** Scenarios only `--only` runs. */
const optIn: Record<string, () => Promise<void>> = { instructions: benchInstructions };

const only = process.argv
  .find((argument) => argument.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const unknown = only?.filter((name) => !(name in scenarios) && !(name in optIn)) ?? [];
if (unknown.length > 0) {
  throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${[...Object.keys(scenarios), ...Object.keys(optIn)].join(', ')}`);
}

const started = performance.now();
console.log(
  `tokenkeeper benchmarks${smoke ? ' (smoke run: figures are not meaningful)' : ''} on Node ${process.version}, ` +
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
);
for (const [name, run] of Object.entries(scenarios)) if (!only || only.includes(name)) await run();
for (const [name, run] of Object.entries(optIn)) if (only?.includes(name)) await run();
printTable('summary', summary);
console.log(`\nran in ${((performance.now() - started) / 1000).toFixed(0)} s`);
