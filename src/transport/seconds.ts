// How durations appear in messages ("3 s", "0.25 s"): one formatter shared by
// the transport's timeouts, the deadline and the retry notes.

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')} s`;
}
