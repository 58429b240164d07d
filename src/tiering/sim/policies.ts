import { AUTO } from '../decision';
import { FirstReadEstimator } from '../first-read';
import { type TieringPolicy } from '../policy';
import { BYTES_PER_READ_PRIOR, READS_PER_ACCESS_PRIOR, ReadShareEstimator } from '../read-share';
import { ReadSplitEstimator } from '../read-split';
import { PLACEMENTS, placementIndex, type Location, type Tier } from '../placements';
import type { SimPolicy } from './types';

const DAY = 86_400_000;
const at = (loc: Location, tier: Tier): number => placementIndex({ location: loc, tier });
const tierAtSameLocation = (current: number, tier: Tier): number => at(PLACEMENTS[current]!.location, tier);

/** Everything on the fast tier of its location, whatever it costs. */
export const alwaysHot: SimPolicy = {
  name: 'always-hot',
  description: 'every dataset on the HOT tier of its location',
  decide: (_v, _i, current) => tierAtSameLocation(current, 'HOT'),
};

/**
 * The original demo's rule: an EWMA (alpha 0.1) of recent access counts as a score with fixed
 * thresholds, and its fixed tier → location map (HOT on ONPREM, WARM on PRIVATE, COLD on
 * PUBLIC). Its EWMA ran over 5-second batches; here over the hourly counts of the last day,
 * and with thresholds of 1 and 0.05 accesses per hour.
 */
export const seedThresholds: SimPolicy = {
  name: 'seed-thresholds',
  description: 'the original demo: EWMA score ≥ 1/h → ONPREM/HOT, ≥ 0.05/h → PRIVATE/WARM, else PUBLIC/COLD',
  decide: (v, i) => {
    const hourly = v.hourly(i);
    let e = 0;
    for (let h = 0; h < hourly.length; h++) e = 0.1 * hourly[h]! + 0.9 * e;
    if (e >= 1) return at('ONPREM', 'HOT');
    if (e >= 0.05) return at('PRIVATE', 'WARM');
    return at('PUBLIC', 'COLD');
  },
};

/**
 * Like S3 Intelligent-Tiering, within the dataset's location: 30 days without access → WARM
 * (Infrequent Access), 90 → COLD (Archive Instant Access), any access → HOT again. It cannot tell
 * a backup's scan from a user's read, so scans count as access.
 */
export const s3IntelligentTiering: SimPolicy = {
  name: 's3-it',
  description: 'S3 Intelligent-Tiering-like: 30 days idle → WARM, 90 → COLD, any access (scans too) → HOT',
  decide: (v, i, current, now) => {
    const idle = (now - v.lastAccess(i)) / DAY;
    if (idle >= 90) return tierAtSameLocation(current, 'COLD');
    if (idle >= 30) return tierAtSameLocation(current, 'WARM');
    return tierAtSameLocation(current, 'HOT');
  },
};

/**
 * Like NetApp FabricPool's `auto` tiering policy, within the dataset's location: data not read
 * at random for 31 days (the default cooling period) goes to the capacity tier (COLD); a random
 * read brings it back to the performance tier (HOT); sequential reads (scans) do not.
 */
export const fabricPoolAuto: SimPolicy = {
  name: 'fabricpool-auto',
  description: 'FabricPool auto-like: 31 days without a non-scan access → COLD, a non-scan access → HOT',
  decide: (v, i, current, now) => {
    const idle = (now - v.lastWarm(i)) / DAY;
    return tierAtSameLocation(current, idle >= 31 ? 'COLD' : 'HOT');
  },
};

/** The product's own policy, as the live scheduler runs it (see TieringPolicy). */
export function productPolicy(policy: TieringPolicy): SimPolicy {
  return {
    name: 'product',
    description: 'Data in Motion: forecast use, price all nine placements, move when it pays back with a margin',
    usesBudget: true,
    // The fleet's read share, first-read delays and idle spells (ReturnCurve) so far, as the live scheduler learns it from its scan (live, a run
    // prices with what the previous run's scan learnt).
    beginStep: (v, now) => {
      const est = new ReadShareEstimator();
      const firstRead = new FirstReadEstimator();
      const census = policy.predictor.returns.begin(now);
      const split = new ReadSplitEstimator();
      for (let i = 0; i < v.n; i++) {
        if (v.createdAt[i]! > now) continue;
        const s = v.snapshot(i);
        est.add(s.reads, s.scans, s.bytesRead, v.size[i]!);
        split.add(s.reads, s.scans, s.writes);
        firstRead.add(v.createdAt[i]!, now, s.reads, s.scans);
        census.add(s);
      }
      policy.predictor.returns.learn(census);
      policy.readShare = est.value() ?? BYTES_PER_READ_PRIOR.share;
      policy.readSplit = split.value() ?? READS_PER_ACCESS_PRIOR;
      policy.firstRead = firstRead.curve();
    },
    decide: (v, i, current, now, state) => {
      const d = policy.decide(
        {
          datasetId: i,
          current: PLACEMENTS[current]!,
          placedAt: state.placedAt[i]!,
          lastMoveAt: Number.isNaN(state.lastMoveAt[i]!) ? null : state.lastMoveAt[i]!,
          sizeBytes: v.size[i]!,
          stats: v.snapshot(i),
          policy: AUTO,
          moving: false,
        },
        now,
      );
      return d.action === 'move' ? { target: placementIndex(d.to), decision: d } : current;
    },
  };
}

export const BASELINE_POLICIES: Record<string, SimPolicy> = {
  [alwaysHot.name]: alwaysHot,
  [seedThresholds.name]: seedThresholds,
  [s3IntelligentTiering.name]: s3IntelligentTiering,
  [fabricPoolAuto.name]: fabricPoolAuto,
};
