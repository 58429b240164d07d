import { LOCATIONS, TIERS, isUniqueViolation, type Location, type Tier } from '../db';
import { type Clock, AppError, Fields } from '../platform';
import { type DatasetsRepository, type DatasetPatch, type DatasetWithStats, type ListFilter } from './repository';

/** The original demo kept each tier at one location; a new dataset starts at its tier's. */
export const DEFAULT_LOCATION: Record<Tier, Location> = { HOT: 'ONPREM', WARM: 'PRIVATE', COLD: 'PUBLIC' };

const NAME = { min: 1, max: 200 };
const MAX_SIZE_GB = 1e9; // an exabyte: anything larger is a typo

/** What other capabilities learn of dataset changes (narrow hooks, no reach into their internals). */
export interface DatasetChanges {
  /** May refuse the delete by throwing (an AppError). */
  beforeDelete?(dataset: DatasetWithStats): Promise<void>;
  onDeleted?(dataset: DatasetWithStats): void | Promise<void>;
  onRenamed?(id: number, oldName: string): void;
}

export class DatasetsService {
  constructor(
    private readonly repo: DatasetsRepository,
    private readonly clock: Clock,
    private readonly listeners: DatasetChanges[] = [],
  ) {}

  async create(body: unknown): Promise<DatasetWithStats> {
    const f = Fields.of(body, 'body');
    f.only(['name', 'size_gb', 'description', 'tags', 'tier', 'current_tier', 'location', 'storage_type']);
    const name = f.string('name', NAME);
    const size_gb = f.optNumber('size_gb', { min: 0, max: MAX_SIZE_GB }) ?? 0;
    const description = f.optString('description', { max: 4_000, nullable: true }) ?? null;
    const tags = f.optStringArray('tags', { maxItems: 50, maxLength: 64 }) ?? [];
    const tier = oneOfAliases(f, ['tier', 'current_tier'], TIERS) ?? 'WARM';
    const location = oneOfAliases(f, ['location', 'storage_type'], LOCATIONS) ?? DEFAULT_LOCATION[tier];
    const now = this.clock.now();
    let id: number;
    try {
      id = await this.repo.insert({
        name,
        size_gb,
        description,
        tags: JSON.stringify(tags),
        tier,
        location,
        location_uri: null,
        created_at: now,
        updated_at: now,
        last_storage_migration: null,
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw AppError.conflict(`a dataset named "${name}" already exists`, { field: 'name' });
      throw err;
    }
    return this.get(id);
  }

  async get(id: number): Promise<DatasetWithStats> {
    const d = await this.repo.get(id);
    if (!d) throw AppError.notFound('dataset not found', { dataset_id: id });
    return d;
  }

  list(filter: ListFilter): Promise<{ rows: DatasetWithStats[]; total: number }> {
    return this.repo.list(filter);
  }

  async update(id: number, body: unknown): Promise<DatasetWithStats> {
    const f = Fields.of(body, 'body');
    f.only(['name', 'size_gb', 'description', 'tags']);
    const before = await this.get(id);
    const patch: DatasetPatch = {};
    const name = f.optString('name', NAME);
    if (name !== undefined && name !== null) patch.name = name;
    const size = f.optNumber('size_gb', { min: 0, max: MAX_SIZE_GB });
    if (size !== undefined) patch.size_gb = size;
    const description = f.optString('description', { max: 4_000, nullable: true });
    if (description !== undefined) patch.description = description;
    const tags = f.optStringArray('tags', { maxItems: 50, maxLength: 64 });
    if (tags !== undefined) patch.tags = JSON.stringify(tags);
    if (Object.keys(patch).length === 0) return before;
    patch.updated_at = this.clock.now();
    try {
      if (!(await this.repo.update(id, patch))) throw AppError.notFound('dataset not found', { dataset_id: id });
    } catch (err) {
      if (isUniqueViolation(err))
        throw AppError.conflict(`a dataset named "${patch.name}" already exists`, { field: 'name' });
      throw err;
    }
    if (patch.name !== undefined && patch.name !== before.name)
      for (const l of this.listeners) l.onRenamed?.(id, before.name);
    return this.get(id);
  }

  async delete(id: number): Promise<void> {
    const before = await this.get(id);
    for (const l of this.listeners) await l.beforeDelete?.(before);
    if (!(await this.repo.delete(id))) throw AppError.notFound('dataset not found', { dataset_id: id });
    for (const l of this.listeners) await l.onDeleted?.(before);
  }
}

function oneOfAliases<T extends string>(f: Fields, names: string[], allowed: readonly T[]): T | undefined {
  const given = names.filter((n) => f.has(n));
  if (given.length > 1) f.fail(given[1]!, `give only one of ${names.join(', ')}`);
  return given.length === 1 ? f.optEnum(given[0]!, allowed, { caseInsensitive: true }) : undefined;
}
