import { type DatasetChanges, type DatasetsRepository } from '../datasets';

const MAX_ENTRIES = 200_000;

/**
 * Which datasets exist, by id and by name, with a bounded cache in front of the database so
 * single-event requests do not each cost a query. Only positive answers are cached; deletes and
 * renames invalidate through the DatasetChanges hooks. (A dataset deleted between this check and
 * the consumer's is caught there and dead-lettered, never silently dropped.)
 */
export class DatasetResolver implements DatasetChanges {
  private readonly ids = new Set<number>();
  private readonly names = new Map<string, number>();

  constructor(private readonly repo: DatasetsRepository) {}

  async resolve(
    ids: readonly number[],
    names: readonly string[],
  ): Promise<{ ids: Set<number>; byName: Map<string, number> }> {
    const foundIds = new Set<number>();
    const byName = new Map<string, number>();
    const missIds: number[] = [];
    const missNames: string[] = [];
    for (const id of ids) {
      if (this.ids.has(id)) foundIds.add(id);
      else missIds.push(id);
    }
    for (const n of names) {
      const id = this.names.get(n);
      if (id === undefined) missNames.push(n);
      else byName.set(n, id);
    }
    if (missIds.length > 0 || missNames.length > 0) {
      const r = await this.repo.resolve(missIds, missNames);
      this.makeRoom(r.ids.size + r.byName.size);
      for (const id of r.ids) {
        foundIds.add(id);
        this.ids.add(id);
      }
      for (const [n, id] of r.byName) {
        byName.set(n, id);
        this.names.set(n, id);
      }
    }
    return { ids: foundIds, byName };
  }

  private makeRoom(incoming: number): void {
    if (this.ids.size + this.names.size + incoming > MAX_ENTRIES) {
      this.ids.clear();
      this.names.clear();
    }
  }

  onDeleted(dataset: { id: number; name: string }): void {
    this.ids.delete(dataset.id);
    this.names.delete(dataset.name);
  }

  onRenamed(_id: number, oldName: string): void {
    this.names.delete(oldName);
  }
}
