// The AUTH secret from a systemd credential: with LoadCredential=etrn-password:FILE
// systemd sets CREDENTIALS_DIRECTORY, and etrn reads the secret from there
// when neither --auth-password-file nor ETRN_PASSWORD gives it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CREDENTIAL_NAME, findSecret } from '../../src/config/secret.js';
import { EtrnError } from '../../src/errors.js';

describe('findSecret and systemd credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etrn-cred-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, CREDENTIAL_NAME), 's3cret\n', { mode: 0o400 });

  test('reads $CREDENTIALS_DIRECTORY/etrn-password when nothing else gives the secret', async () => {
    const secret = await findSecret(undefined, { CREDENTIALS_DIRECTORY: dir });
    assert.deepEqual(secret, { password: 's3cret', warning: null });
  });

  test('ETRN_PASSWORD and --auth-password-file come first', async () => {
    assert.equal((await findSecret(undefined, { CREDENTIALS_DIRECTORY: dir, ETRN_PASSWORD: 'env' })).password, 'env');
    const file = join(dir, 'file');
    writeFileSync(file, 'fromfile\n', { mode: 0o600 });
    assert.equal((await findSecret(file, { CREDENTIALS_DIRECTORY: dir })).password, 'fromfile');
  });

  test('a credentials directory without etrn-password is a configuration error naming the file', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    await assert.rejects(findSecret(undefined, { CREDENTIALS_DIRECTORY: empty }), (error: unknown) => {
      assert.ok(error instanceof EtrnError);
      assert.equal(error.code, 'ERR_CONFIG');
      assert.match(error.message, /etrn-password/);
      return true;
    });
  });

  test('without any source the usage error names all three', async () => {
    await assert.rejects(findSecret(undefined, {}), /ETRN_PASSWORD or --auth-password-file FILE \(or the systemd credential etrn-password\)/);
  });
});
