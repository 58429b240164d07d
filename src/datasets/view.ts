import type { DatasetWithStats } from './repository';

export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/**
 * The dataset as the API shows it: every field of the original demo's dataset object
 * (id, name, size_gb, current_tier, access_count, last_access, created_at, migrating,
 * storage_type, location_uri, last_storage_migration) plus the product's own.
 */
export function datasetView(d: DatasetWithStats): Record<string, unknown> {
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    tags: JSON.parse(d.tags) as string[],
    size_gb: d.size_gb,
    current_tier: d.tier,
    storage_type: d.location,
    tier: d.tier,
    location: d.location,
    // Where the current copy lives, as a logical address (never a file-system path).
    location_uri: d.object_id ? `dim://${d.location}/${d.tier}/${d.object_id}` : null,
    catalog_only: d.object_id === null,
    content: d.object_id
      ? { bytes: d.content_bytes, sha256: d.content_sha256, updated_at: iso(d.content_updated_at) }
      : null,
    access_count: Number(d.access_count),
    last_access: iso(d.last_access),
    created_at: iso(d.created_at),
    updated_at: iso(d.updated_at),
    migrating: Boolean(d.migrating),
    // The stored object failed verification; null once replaced or verified whole again.
    damaged: d.damaged_at === null ? null : { at: iso(d.damaged_at), detail: d.damage },
    // When a scrub last read the whole stored object and every chunk authenticated.
    verified_at: iso(d.verified_at),
    last_storage_migration: iso(d.last_storage_migration),
  };
}
