import fsp from 'node:fs/promises';
import { HEADER_BYTES, readHeader, type FormatVersion } from './chunked';
import { labelKey, openLabel, sealLabel, type LabelKey, type ObjectLabel } from './label';

/** An object's header as found on disk, before any key is at hand. */
export interface FoundHeader {
  version: FormatVersion;
  /** Version 2: the wrapped data key and its KEK id (not yet authenticated). */
  key: LabelKey | undefined;
  /** Version 2: the label authenticated with the data key the caller unwrapped. */
  open(dek: Buffer): ObjectLabel;
}

/** Reads an object's header; throws CryptoError if it is not one, or its label is malformed. */
export async function readObjectHeader(file: string): Promise<FoundHeader> {
  const fh = await fsp.open(file, 'r');
  try {
    const h = await readHeader(fh);
    const raw = h.label;
    return {
      version: h.version,
      key: raw ? labelKey(raw) : undefined,
      open: (dek) => {
        if (!raw) throw new Error('a version 1 object has no label');
        return openLabel(h.header, raw, dek);
      },
    };
  } finally {
    await fh.close();
  }
}

/**
 * Re-seals a version 2 object's label in place with what `change` makes of it (a move's copy:
 * the data key wrapped for its new location, its new placement), durably. The old label must
 * authenticate with `dek` first. False for a version 1 object, which has no label to change.
 */
export async function relabelFile(
  file: string,
  dek: Buffer,
  change: (label: ObjectLabel) => ObjectLabel,
): Promise<boolean> {
  const fh = await fsp.open(file, 'r+');
  try {
    const h = await readHeader(fh);
    if (!h.label) return false;
    const bytes = sealLabel(h.header, dek, change(openLabel(h.header, h.label, dek)));
    const { bytesWritten } = await fh.write(bytes, 0, bytes.length, HEADER_BYTES);
    if (bytesWritten !== bytes.length) throw new Error(`the label was written short (${bytesWritten} bytes)`);
    await fh.sync();
    return true;
  } finally {
    await fh.close();
  }
}
