/**
 * Runs every benchmark and prints its tables. `pnpm bench` for the figures; `--smoke` for a
 * seconds-long run that only proves each scenario still starts and prints.
 */
import { benchCore } from './core.js';
import { smoke } from './measure.js';
import { benchScale } from './scale.js';

console.log(`tokenkeeper benchmarks${smoke ? ' (smoke run: figures are not meaningful)' : ''} on Node ${process.version}`);
await benchCore();
await benchScale();
