/** Small helpers shared by the scenarios: timing, formatting, a printed table. */

export interface Row {
  [column: string]: string | number;
}

/** Prints a titled table of rows, every column right-aligned but the first. */
export function printTable(title: string, rows: Row[]): void {
  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)));
  const format = (cells: string[]) => cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join('  ');
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
