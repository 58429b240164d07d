/**
 * Synthetic workloads for the what-if replay, and the on-disk trace format (see trace.ts).
 *
 * A workload is a set of dataset populations, each with one behaviour (cooling, Zipf popularity,
 * business-hour cycles, ...). Generation is deterministic for a seed:
 *
 * - The catalog and every per-dataset parameter (size, creation time, rates, schedules) are drawn
 *   once, in `generate()`, from the stream `Rng(seed, 0)`.
 * - Events are generated one day at a time when `events()` is iterated: day d draws from its own
 *   stream `Rng(seed, 1 + d)`, every population appends that day's events, and the day is sorted by
 *   ts (stable, so ties keep their generation order) and yielded. Memory is one day of events, and
 *   each call of `events()` replays the same sequence.
 *
 * Rates are Poisson processes whose intensity depends on the dataset and the time (age, hour of
 * day, day of week, day of month); each day a dataset gets Poisson(expected count) events whose
 * times are drawn from the intensity's shape within the day.
 */
import { assemble, type WorkloadSpec } from './assemble';
import { archive } from './archive';
import { cooling } from './cooling';
import { cycles } from './cycles';
import type { WorkloadGenerator } from './helpers';
import { idleAmongBusy } from './idle-among-busy';
import { monthEnd } from './month-end';
import { nightlyScan } from './nightly-scan';
import { readOnce } from './read-once';
import { slowCooling } from './slow-cooling';
import { staged } from './staged';
import { weeklyBatch } from './weekly-batch';
import { zipf } from './zipf';

export { DEFAULT_OPTIONS, DEFAULT_START, type GenerateOptions, type WorkloadSpec } from './assemble';
export { COOLING_EXPONENT } from './cooling';
export { DAY_MS, expectedPartBytes } from './helpers';
export { Rng } from './rng';

/** The single-behaviour workloads, in the mix's catalog order. */
const SINGLE: Record<string, WorkloadGenerator> = {
  cooling,
  zipf,
  cycles,
  'month-end': monthEnd,
  'read-once': readOnce,
  'nightly-scan': nightlyScan,
};

/** The mix's proportions, in catalog order. */
export const MIX_SHARES: Readonly<Record<string, number>> = {
  cooling: 0.3,
  zipf: 0.25,
  cycles: 0.15,
  'month-end': 0.1,
  'read-once': 0.1,
  'nightly-scan': 0.1,
};

export const WORKLOADS: Record<string, WorkloadSpec> = {};
for (const [name, w] of Object.entries(SINGLE)) {
  WORKLOADS[name] = {
    name,
    description: w.description,
    generate: (opts) => assemble(name, w.description, opts, [{ prefix: name, share: 1, build: w.build }]),
  };
}
{
  const description =
    'All of the above in one population: ' +
    Object.entries(MIX_SHARES)
      .map(([n, s]) => `${Math.round(s * 100)}% ${n}`)
      .join(', ') +
    '; dataset names are prefixed with their behaviour.';
  const parts = Object.entries(MIX_SHARES).map(([prefix, share]) => ({ prefix, share, build: SINGLE[prefix]!.build }));
  WORKLOADS['mix'] = { name: 'mix', description, generate: (opts) => assemble('mix', description, opts, parts) };
}

/**
 * Workloads unlike those the policy was tuned on (issue 13), listed after the mix (which stays
 * the six above): each is a Poisson process with known rates or a fixed schedule, so its
 * expected use is known and the informed bound covers it.
 */
const UNSEEN: Record<string, WorkloadGenerator> = {
  staged,
  'weekly-batch': weeklyBatch,
  'slow-cooling': slowCooling,
  archive,
  'idle-among-busy': idleAmongBusy,
};
for (const [name, w] of Object.entries(UNSEEN)) {
  WORKLOADS[name] = {
    name,
    description: w.description,
    generate: (opts) => assemble(name, w.description, opts, [{ prefix: name, share: 1, build: w.build }]),
  };
}
