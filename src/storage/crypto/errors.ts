export type CryptoErrorCode = 'TAMPERED' | 'TRUNCATED' | 'WRONG_KEY' | 'BAD_HEADER' | 'BAD_KEY_MATERIAL';

/** A failure to decrypt or to accept key material. Messages never carry key bytes. */
export class CryptoError extends Error {
  constructor(readonly code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
  }
}
