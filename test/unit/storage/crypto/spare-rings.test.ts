import { giveBackRing, takeRing } from '../../../../src/storage/crypto/gcm-worker';

const MiB = 1024 * 1024;

describe('spare rings', () => {
  it('when an S3 upload gives its rings back, then the next transfer of those sizes takes the same memory', () => {
    const io = takeRing(24 * MiB);
    const first = takeRing(8 * MiB);
    const ring = takeRing(4 * MiB);
    for (const r of [io, first, ring]) giveBackRing(r);
    expect(takeRing(24 * MiB)).toBe(io);
    expect(takeRing(8 * MiB)).toBe(first);
    expect(takeRing(4 * MiB)).toBe(ring);
  });

  it('when more is given back than the budget, then the rest is left to the collector', () => {
    const big = [takeRing(24 * MiB), takeRing(24 * MiB)];
    for (const r of big) giveBackRing(r);
    const again = [takeRing(24 * MiB), takeRing(24 * MiB)];
    // One 24 MiB ring fits the 40 MiB budget, two do not: the second is new memory.
    expect(again).toContain(big[0]);
    expect(again.filter((r) => big.includes(r))).toHaveLength(1);
  });

  it('when a ring is given back twice, then it is still handed out once', () => {
    const r = takeRing(4 * MiB);
    giveBackRing(r);
    giveBackRing(r);
    expect(takeRing(4 * MiB)).toBe(r);
    expect(takeRing(4 * MiB)).not.toBe(r);
  });
});
