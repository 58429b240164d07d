/**
 * Rings kept for reuse, a few and SPARE_BYTES in all. A ring left to the collector is freed only
 * once the main thread and the worker that used it have both collected it (in a major collection,
 * which can be long to come), and meanwhile the next transfer allocates another: four S3 uploads
 * of 128 MiB in a row peaked at 240 MiB RSS that way, against 145 for one. The budget holds what
 * an S3 upload (a 24 MiB io ring, an 8 MiB first part, a 4 MiB ring) and a download use.
 */
const SPARE_RINGS = 4;
const SPARE_BYTES = 40 * 1024 * 1024;

const spareRings: Buffer[] = [];

/** A ring of shared memory of `bytes`: a spare one if there is one. */
export function takeRing(bytes: number): Buffer {
  const at = spareRings.findIndex((r) => r.length === bytes);
  return at >= 0 ? spareRings.splice(at, 1)[0]! : Buffer.from(new SharedArrayBuffer(bytes));
}

/** A ring nothing reads or writes any more, kept for the next job (within the budget above). */
export function giveBackRing(ring: Buffer): void {
  const kept = spareRings.reduce((sum, r) => sum + r.length, 0);
  if (spareRings.length < SPARE_RINGS && kept + ring.length <= SPARE_BYTES && !spareRings.includes(ring)) {
    spareRings.push(ring);
  }
}
