import { AppError } from '../platform';
import { placementKey, type Placement } from './placements';
import type { TieringService } from './service';

/** What a person chose for a manual move of a pinned dataset. */
export const PINNED_CHOICES = ['unpin', 'pin'] as const;
export type PinnedChoice = (typeof PINNED_CHOICES)[number];

/**
 * A manual move of a pinned dataset asks first: moved without a word, the scheduler would move
 * it back to its pin. Without a choice it is refused (409, field `pinned`, both options named);
 * "unpin" sets the policy to auto (its latency need kept) and lets the move go ahead; "pin" pins
 * the dataset to the target instead, and the pin queues the move itself.
 *
 * Answers undefined when the caller should queue its manual move, or the id of the move the new
 * pin queued.
 */
export async function resolvePinnedMove(
  tiering: Pick<TieringService, 'policyOf' | 'setPolicy'>,
  datasetId: number,
  target: Placement,
  choice: PinnedChoice | undefined,
): Promise<{ moveId: number } | undefined> {
  const policy = await tiering.policyOf(datasetId);
  if (policy.mode !== 'pinned' || !policy.pin) return undefined;
  if (placementKey(policy.pin) === placementKey(target)) return undefined; // towards its own pin: nothing to ask
  if (choice === undefined)
    throw AppError.conflict(
      `pinned: the dataset is pinned to ${placementKey(policy.pin)}, and the scheduler would move it back; ` +
        `send pinned: "unpin" to unpin it and move, or pinned: "pin" to pin it to ${placementKey(target)}`,
      { field: 'pinned', pin: placementKey(policy.pin), options: [...PINNED_CHOICES] },
    );
  if (choice === 'unpin') {
    await tiering.setPolicy(datasetId, { ...policy, mode: 'auto', pin: null });
    return undefined;
  }
  const out = await tiering.setPolicy(datasetId, { ...policy, pin: { location: target.location, tier: target.tier } });
  return out.move_id === null ? undefined : { moveId: out.move_id };
}
