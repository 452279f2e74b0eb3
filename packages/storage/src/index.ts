export { StoreError, type ObjectInfo, type ObjectStore, type PutOptions, type StoreErrorCode } from './types.js';
export { FileStore } from './file-store.js';
export { S3Store } from './s3-store.js';
export {
  resolveS3Config,
  type ResolvedS3Config,
  type S3Credentials,
  type S3Location,
  type S3StoreOptions,
} from './s3-config.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { compareKeys, joinKey, validateKey, type ByteRange } from './keys.js';
