/** Small helpers shared by the scenarios: timing, formatting, a printed table. */

export interface Row {
  [column: string]: string | number;
}

/** Prints a titled table of rows, every column right-aligned but the first. */
export function printTable(title: string, rows: Row[]): void {
  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)));
  const format = (cells: string[]) =>
    cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join('  ');
  console.log(`\n${title}`);
  console.log(format(columns));
  console.log(format(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(format(columns.map((column) => String(row[column]))));
}

/** Nanoseconds per operation of `run`, called `count` times per sample; the median of `samples`. */
export async function nsPerOp(run: (count: number) => Promise<void> | void, count: number, samples = 7): Promise<number> {
  await run(Math.min(count, 10_000)); // warm up
  const results: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const start = process.hrtime.bigint();
    await run(count);
    results.push(Number(process.hrtime.bigint() - start) / count);
  }
  return median(results);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function fixed(value: number, digits = 1): string {
  return value.toFixed(digits);
}

/** `--smoke` runs each scenario for seconds, not minutes: enough to prove it still starts and prints. */
export const smoke = process.argv.includes('--smoke');

/** The value below which `fraction` (0–1) of `values` fall (nearest rank); `NaN` for none. */
export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

/** `part / whole` as a percentage with one decimal: `98.7%`. */
export function percent(part: number, whole: number): string {
  return `${((part / whole) * 100).toFixed(1)}%`;
}

/**
 * Runs every variant `rounds` times, alternating the order (A B C, C B A, A B C, …) so a drift of
 * the machine's speed during the run hits every variant alike. Returns each variant's results in
 * round order.
 */
export async function alternate<Result>(
  variants: Record<string, () => Promise<Result>>,
  rounds: number,
): Promise<Record<string, Result[]>> {
  const names = Object.keys(variants);
  const results: Record<string, Result[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) results[name]!.push(await variants[name]!());
  }
  return results;
}

/** `nsPerOp` for several variants, their samples interleaved (see `alternate`); the median of each. */
export async function compareNsPerOp(
  variants: Record<string, (count: number) => Promise<void> | void>,
  count: number,
  samples = 7,
): Promise<Record<string, number>> {
  for (const run of Object.values(variants)) await run(Math.min(count, 10_000)); // warm up
  const timed = Object.fromEntries(
    Object.entries(variants).map(([name, run]) => [
      name,
      async () => {
        const start = process.hrtime.bigint();
        await run(count);
        return Number(process.hrtime.bigint() - start) / count;
      },
    ]),
  );
  const results = await alternate(timed, samples);
  return Object.fromEntries(Object.entries(results).map(([name, values]) => [name, median(values)]));
}

/** Rejects with a named error when `promise` is not settled within `ms`: every wait in the benchmarks is bounded. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Headline figures of every scenario, printed together at the end of a run and copied to bench/README.md. */
export const summary: Row[] = [];

export function addSummary(
  scenario: string,
  measure: string,
  tokenkeeper: string | number,
  comparison: string | number,
  target = '',
): void {
  summary.push({ scenario, measure, tokenkeeper, 'compared with': comparison, target });
}
