/** The nine placements: a location (where) × a tier (how fast). */
import { LOCATIONS, TIERS, type Location, type Tier } from '../db';

export { LOCATIONS, TIERS, type Location, type Tier };

export interface Placement {
  location: Location;
  tier: Tier;
}

/** Placements in a fixed order, so arrays indexed by placement line up everywhere. */
export const PLACEMENTS: readonly Placement[] = LOCATIONS.flatMap((location) =>
  TIERS.map((tier) => ({ location, tier })),
);

export function placementIndex(p: Placement): number {
  return LOCATIONS.indexOf(p.location) * TIERS.length + TIERS.indexOf(p.tier);
}

export function placementKey(p: Placement): string {
  return `${p.location}/${p.tier}`;
}
