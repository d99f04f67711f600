// The one mapping from an operating-system error (errno code) to the short
// text etrn's messages show, shared by every file reader and by the
// program runner, so "no such file" reads the same wherever it happens.

const TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  ENXIO: 'no such device or address (a socket?)',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  EAGAIN: 'resource temporarily unavailable',
  ENOEXEC: 'not an executable format',
};

/** The errno code of `error` (ENOENT, ...), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Short lowercase text for an fs or spawn error: "no such file", "permission denied", else its code. */
export function errnoText(error: unknown): string {
  const code = errnoCode(error);
  if (code !== undefined) return TEXT[code] ?? code;
  return error instanceof Error ? error.message : String(error);
}
