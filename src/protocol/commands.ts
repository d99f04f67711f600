// SMTP command builders (RFC 5321 §4.1.1, RFC 1985 §4). Each returns one
// command line without its CRLF; the transport adds the line end. Every
// argument is checked here, the last gate before the wire: a CR, LF, NUL or
// other control character can never reach the server, whatever the caller
// validated before.
import { LocalProtocolError, quote } from '../errors.js';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0020\u007f-\u009f]/;

function argument(command: string, value: string): string {
  if (value === '' || UNSAFE.test(value) || value.length > 500) {
    throw new LocalProtocolError(`refusing to send ${command} with argument ${quote(value)}`);
  }
  return `${command} ${value}`;
}

export const ehlo = (name: string): string => argument('EHLO', name);
export const helo = (name: string): string => argument('HELO', name);
/** RFC 1985 §4: "ETRN" SP node-name / "@" node-name / "#" queue-name. */
export const etrnCommand = (node: string): string => argument('ETRN', node);
export const quit = (): string => 'QUIT';
export const starttls = (): string => 'STARTTLS';
