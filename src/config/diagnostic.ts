// The one diagnostic type of the configuration parsers (sendmail.cf and
// class files, the defaults file, Postfix and Exim answers): a problem that
// did not stop the parse, with where it was found. Made into text once, by
// formatDiagnostic, where it is shown.

export interface Diagnostic {
  /** The file it was found in, or the source without a file (a Postfix parameter, Exim's local_domains). */
  readonly file: string;
  /** 1-based line in `file`; 0 when the source has no lines to count. */
  readonly line: number;
  readonly message: string;
}

/** "FILE:LINE: MESSAGE", or "SOURCE: MESSAGE" without a line. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}${d.line > 0 ? `:${d.line}` : ''}: ${d.message}`;
}
