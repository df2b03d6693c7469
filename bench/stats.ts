/** Summaries of repeated trials. With fewer than 100 samples, p99 is the largest one. */

export type Summary = { n: number; median: number; p99: number; min: number; max: number; mean: number };

/** The nearest-rank percentile `p` (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: readonly number[]): Summary {
  if (!values.length) return { n: 0, median: NaN, p99: NaN, min: NaN, max: NaN, mean: NaN };
  return {
    n: values.length,
    median: percentile(values, 50),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

/** Milliseconds, with as many decimals as make sense for their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function ratio(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(1)}×`;
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis));
