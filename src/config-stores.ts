import path from 'node:path';
import { ConfigError, type Reader } from './config-reader';
import { LOCATIONS, TIERS, type Location, type Tier } from './db';
import { DEFAULT_CLASSES, type StoreSpec, type StoreSpecs } from './storage';

/** S3 bucket names: 3-63 of lower-case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const STORAGE_CLASS = /^[A-Z_]+$/;

/**
 * STORE_ONPREM, STORE_PRIVATE, STORE_PUBLIC: `file:///absolute/path` or `s3://bucket/prefix`;
 * unset keeps the location's folder under DATA_DIR. Every error names the variable.
 */
export function storesConfig(r: Reader): StoreSpecs {
  const out = {} as Record<Location, StoreSpec>;
  for (const location of LOCATIONS) out[location] = storeConfig(r, location);
  return out;
}

function storeConfig(r: Reader, location: Location): StoreSpec {
  const name = `STORE_${location}`;
  const raw = r.optStr(name);
  const shared = r.bool(`${name}_SHARED`, false);
  if (raw === undefined) return { kind: 'file', location, root: undefined, shared };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be file:///absolute/path or s3://bucket/prefix');
  }
  if (url.protocol === 'file:') {
    if (url.host !== '' || url.search !== '' || url.hash !== '')
      throw new ConfigError(name, 'must be file:///absolute/path (no host, query or fragment)');
    const root = decodeURIComponent(url.pathname);
    if (!path.isAbsolute(root) || root === '/') throw new ConfigError(name, 'must name an absolute directory');
    return { kind: 'file', location, root: path.normalize(root).replace(/\/$/, ''), shared };
  }
  if (url.protocol !== 's3:') throw new ConfigError(name, 'must start with file:// or s3://');
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) throw new ConfigError(name, `"${bucket}" is not a valid bucket name`);
  if (url.username || url.password || url.port || url.search || url.hash)
    throw new ConfigError(name, 'must be s3://bucket/prefix (credentials come from the AWS SDK, not the URL)');
  const trimmed = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed.split('/').some((part) => part === '.' || part === '..'))
    throw new ConfigError(name, 'the prefix must not hold . or .. segments');
  return {
    kind: 's3',
    location,
    bucket,
    prefix: trimmed === '' ? '' : `${trimmed}/`,
    endpoint: r.optStr(`${name}_ENDPOINT`) === undefined ? undefined : r.url(`${name}_ENDPOINT`, ''),
    region: r.optStr(`${name}_REGION`) ?? r.str('AWS_REGION', 'us-east-1'),
    pathStyle: r.bool(`${name}_PATH_STYLE`, false),
    classes: classesOf(r, `${name}_CLASSES`),
    shared: true,
  };
}

/** `HOT:STANDARD,WARM:STANDARD_IA,COLD:GLACIER_IR`; tiers left out keep the default. */
function classesOf(r: Reader, name: string): Record<Tier, string> {
  const out: Record<Tier, string> = { ...DEFAULT_CLASSES };
  const raw = r.optStr(name);
  if (raw === undefined) return out;
  for (const pair of raw.split(',')) {
    const [tier, cls, extra] = pair.split(':').map((s) => s.trim());
    if (!tier || !cls || extra !== undefined || !STORAGE_CLASS.test(cls))
      throw new ConfigError(name, `"${pair}" is not TIER:CLASS (e.g. COLD:GLACIER_IR)`);
    if (!(TIERS as readonly string[]).includes(tier))
      throw new ConfigError(name, `"${tier}" is not a tier (${TIERS.join(', ')})`);
    out[tier as Tier] = cls;
  }
  return out;
}
