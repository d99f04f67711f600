// Numbers of the bench: medians with min and max, rounding and formatting.

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: number[];
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted[sorted.length - 1]!), samples: samples.map((x) => round(x)) };
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
export const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)}`);
export const ratio = (a: number, b: number): number => round(a / b, 2);
export const range = (s: Summary): string => `${ms(s.min)}–${ms(s.max)}`;
export const nodesFor = (n: number, domain = 'bench.example'): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}.${domain}`);
