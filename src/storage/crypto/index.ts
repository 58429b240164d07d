export { CryptoError, type CryptoErrorCode } from './errors';
export { deriveKek, generateMasterKey, keyFingerprint, newDataKey, parseMasterKey, unwrapKey, wrapKey } from './keys';
export {
  DEFAULT_CHUNK_SIZE,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  encryptedSize,
  plaintextSize,
  plaintextSizeOfFile,
} from './chunked';
