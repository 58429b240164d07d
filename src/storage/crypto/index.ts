export { CryptoError, type CryptoErrorCode } from './errors';
export { deriveKek, generateMasterKey, keyFingerprint, newDataKey, parseMasterKey, unwrapKey, wrapKey } from './keys';
export { type LabelKey, type ObjectFacts, type ObjectLabel } from './label';
export { type FoundHeader, readObjectHeader, relabelFile } from './label-file';
export { DecryptedFile, FileSealer } from './off-thread';
export {
  DEFAULT_CHUNK_SIZE,
  type FormatVersion,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  encryptedSize,
  plaintextSize,
  plaintextSizeOfFile,
} from './chunked';
export {
  DecryptedStream,
  type PlainBody,
  type RangeSource,
  plaintextSizeOfSource,
  readRangeHeader,
} from './stream-open';
export { type ObjectBytes, ringViews } from './object-bytes';
export { type RemoteRead, type SignedRequest } from './remote-read';
export { ObjectSealer } from './object-sealer';
export { RingVerifier } from './ring-verifier';
export { fetchToFile } from './fetch-to-file';
export { giveBackRing, takeRing } from './gcm-worker';
export { PartSender, type SentPart } from './part-sender';
