export type CryptoErrorCode = 'TAMPERED' | 'TRUNCATED' | 'WRONG_KEY' | 'BAD_HEADER' | 'BAD_KEY_MATERIAL';

/** A failure to decrypt or to accept key material. Messages never carry key bytes. */
export class CryptoError extends Error {
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CryptoError';
  }
}

export function chunkTampered(index: number): CryptoError {
  return new CryptoError(
    'TAMPERED',
    `chunk ${index} failed authentication: the file was changed, truncated or reordered, or the key is wrong`,
  );
}

export function chunkTruncated(index: number): CryptoError {
  return new CryptoError('TRUNCATED', `chunk ${index} is cut short: the file is truncated`);
}
