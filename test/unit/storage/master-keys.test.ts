import os from 'node:os';
import { MasterKeys, kekIdOf, parseKekId } from '../../../src/storage/master-keys';
import { generateMasterKey, keyFingerprint, newDataKey, parseMasterKey } from '../../../src/storage/crypto';
import { createLogger } from '../../../src/platform';

const logger = createLogger('silent');
const keysOf = (current: string, previous?: string): MasterKeys =>
  new MasterKeys(
    { encryptionKey: current, encryptionKeyFile: undefined, previousKey: previous, dataDir: os.tmpdir() },
    logger,
  );
const fp = (k: string): string => keyFingerprint(parseMasterKey(k));

describe('master keys', () => {
  const oldKey = generateMasterKey();
  const newKey = generateMasterKey();

  test('when a key id names a master, then it parses with it, and one without names none', () => {
    expect(parseKekId(`PUBLIC:v3@${fp(newKey)}`)).toEqual({ location: 'PUBLIC', version: 3, master: fp(newKey) });
    expect(parseKekId('ONPREM:v1')).toEqual({ location: 'ONPREM', version: 1, master: undefined });
    expect(kekIdOf('PRIVATE', 2, null)).toBe('PRIVATE:v2');
    expect(() => parseKekId('PRIVATE:v2@nothex')).toThrow(/unknown key id/);
  });

  test('when both masters are given, then a key wrapped under either unwraps, whichever id form it has', () => {
    const dek = newDataKey();
    const before = keysOf(oldKey).wrap('PRIVATE:v1', dek);
    const both = keysOf(newKey, oldKey);
    const id = kekIdOf('PRIVATE', 2, fp(newKey));
    const after = both.wrap(id, dek);
    expect(both.unwrap('PRIVATE:v1', before).equals(dek)).toBe(true);
    expect(both.unwrap(id, after).equals(dek)).toBe(true);
    expect(both.whichUnwraps('PRIVATE:v1', before)).toBe(fp(oldKey));
    // The new master alone: an id naming it unwraps; the old one's wrapping does not.
    const only = keysOf(newKey);
    expect(only.unwrap(id, after).equals(dek)).toBe(true);
    expect(() => only.unwrap('PRIVATE:v1', before)).toThrow(expect.objectContaining({ code: 'WRONG_KEY' }));
  });

  test('when a key id names a master that is not given, then the error names its fingerprint', () => {
    const dek = newDataKey();
    const id = kekIdOf('ONPREM', 4, fp(oldKey));
    const wrapped = keysOf(oldKey).wrap(id, dek);
    expect(() => keysOf(newKey).unwrap(id, wrapped)).toThrow(
      new RegExp(`fingerprint ${fp(oldKey)}, which is not given`),
    );
  });

  test('when the previous key is the current one, then it is refused', () => {
    expect(() => keysOf(newKey, newKey)).toThrow(/ENCRYPTION_KEY_PREVIOUS is the same key/);
  });
});
