export { CryptoError, type CryptoErrorCode } from './errors';
export { deriveKek, generateMasterKey, keyFingerprint, newDataKey, parseMasterKey, unwrapKey, wrapKey } from './keys';
export { DecryptedFile, FileSealer } from './off-thread';
export {
  DEFAULT_CHUNK_SIZE,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  encryptedSize,
  plaintextSize,
  plaintextSizeOfFile,
} from './chunked';
