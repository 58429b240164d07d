import crypto from 'node:crypto';
import { WORKLOADS } from '../../../src/tiering/sim/workloads';

/**
 * Digests of a small trace per workload (40 datasets, 30 days, seed 7: catalog, every event and
 * the expected use), computed on the code before the generators were split one per file. A
 * change to any generator's draws, order or parameters changes its digest.
 */
const DIGESTS: Record<string, string> = {
  cooling: '4718a3ea098b7214',
  zipf: 'c1da51aaeafbd93d',
  cycles: '04a82d35c1bec8f2',
  'month-end': '30f89964fe9ad6b0',
  'read-once': '8e75d78576c2bef5',
  'nightly-scan': '7d1677de31c4ec99',
  mix: 'a2a55399f6c746fc',
  // Recorded when they were added (issue 13).
  staged: 'a61b0109961d6f72',
  'weekly-batch': 'd563de8428c6d156',
  'slow-cooling': 'c5407352542ba22f',
  archive: 'fc12cf12cff7cff3',
  'idle-among-busy': 'adf9bad116ad5d7a',
};

function digest(name: string): string {
  const t = WORKLOADS[name]!.generate({ datasets: 40, days: 30, seed: 7 });
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(t.catalog));
  for (const e of t.events()) h.update(JSON.stringify(e));
  if (t.expected) {
    const x = t.expected();
    for (const a of [x.reads, x.bytes, x.writes, x.known]) h.update(Buffer.from(a.buffer));
  }
  return h.digest('hex').slice(0, 16);
}

describe('workload traces stay the same for a seed', () => {
  test.each(Object.keys(DIGESTS))(
    'when %s is generated with seed 7, then its trace has the recorded digest',
    (name) => {
      expect(digest(name)).toBe(DIGESTS[name]);
    },
  );

  test('when the workloads are listed, then each has a recorded digest', () => {
    expect(Object.keys(WORKLOADS).sort()).toEqual(Object.keys(DIGESTS).sort());
  });
});
