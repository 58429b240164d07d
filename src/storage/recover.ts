import type { Kysely } from 'kysely';
import type { DB, Location, Tier } from '../db';
import type { Clock } from '../platform';
import { CryptoError, type ObjectLabel } from './crypto';
import type { Keyring } from './keyring';
import { type CatalogEntry, RecoverRepository } from './recover-repository';
import type { StoredObjects } from './stored-objects';

/**
 * `recover`: the catalog of datasets with content rebuilt from the objects' labels (format
 * version 2), with the product stopped. Where the database still exists it is compared with
 * the stores and repaired, never overwritten: a row the stores agree with is left alone.
 */
export const NOT_IN_OBJECTS =
  'Statistics and decisions are not in the objects: access events and per-dataset statistics, ' +
  'tiering decisions and forecasts, the history of moves, descriptions and tags, users and API keys ' +
  'come back only from a database backup. Nor is a key rotation no object was written under since: ' +
  'each location resumes at the newest key version its objects use; rotate again where that matters.';

export type RecoverAction = 'added' | 'attached' | 'detached' | 'unreadable' | 'stray' | 'unknown' | 'skipped';

export interface RecoverFinding {
  action: RecoverAction;
  /** The object's file under the tier tree, if the finding is about one. */
  object?: string;
  dataset_id?: number;
  detail: string;
}

export interface RecoverReport {
  dryRun: boolean;
  objects: number;
  /** Objects whose dataset row already pointed at them, where they are. */
  matched: number;
  temporaries: number;
  findings: RecoverFinding[];
}

export interface CatalogRecoveryDeps {
  db: Kysely<DB>;
  objects: StoredObjects;
  keyring: Keyring;
  clock: Clock;
}

/** An object found in a store. */
interface Found {
  location: Location;
  tier: Tier;
  objectId: string;
  /** Where it is, for the report: its path under the tier tree, or its s3:// address. */
  file: string;
  /** Version 2, readable: its label, authenticated. */
  label?: ObjectLabel;
}

const at = (f: { location: string; tier: string; objectId: string }): string => `${f.location}/${f.tier}/${f.objectId}`;

export class CatalogRecovery {
  private readonly repo: RecoverRepository;
  private findings: RecoverFinding[] = [];

  constructor(private readonly deps: CatalogRecoveryDeps) {
    this.repo = new RecoverRepository(deps.db);
  }

  async run(opts: { dryRun: boolean }): Promise<RecoverReport> {
    this.findings = [];
    const files = await this.deps.objects.list();
    const found: Found[] = [];
    for (const f of files) {
      if (f.tmp || !f.objectId) continue;
      const read = await this.read({ location: f.location, tier: f.tier, objectId: f.objectId, file: f.name });
      if (read) found.push(read);
    }
    const catalog = await this.repo.catalog();
    // Every object file, readable or not: a row whose object is there but unreadable keeps it (its key may still be good).
    const onDisk = files.flatMap((f) => (f.tmp || !f.objectId ? [] : [{ ...f, objectId: f.objectId }]));
    const matched = await this.compare(found, onDisk, catalog, opts.dryRun);
    return {
      dryRun: opts.dryRun,
      objects: files.filter((f) => !f.tmp && f.objectId).length,
      matched,
      temporaries: files.filter((f) => f.tmp).length,
      findings: this.findings,
    };
  }

  private note(f: RecoverFinding): void {
    this.findings.push(f);
  }

  /** The object with its label checked; undefined (and reported) if it cannot be read. */
  private async read(f: Found): Promise<Found | undefined> {
    const object = f.file;
    try {
      const h = await this.deps.objects.header(f.location, f.tier, f.objectId);
      if (!h.key) return f; // version 1: no label; only a row can say whose it is
      let dek: Buffer;
      try {
        dek = this.deps.keyring.unwrap(h.key.kekId, h.key.wrapped);
      } catch (err) {
        const why = (err as Error).message;
        this.note({ action: 'unreadable', object, detail: `its data key does not unwrap (${why})` });
        return undefined;
      }
      const label = h.open(dek);
      if (label.facts.object_id !== f.objectId)
        throw new CryptoError('BAD_HEADER', `its label names object ${label.facts.object_id}`);
      const size = await h.plaintextSize();
      if (size !== label.facts.bytes)
        throw new CryptoError('TRUNCATED', `it holds ${size} bytes, its label says ${label.facts.bytes}`);
      return { ...f, label };
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      this.note({ action: 'unreadable', object, detail: err.message });
      return undefined;
    }
  }

  /** Decides, per dataset, what the stores and the catalog say together; returns the objects that matched. */
  private async compare(
    found: Found[],
    onDisk: Array<{ location: string; tier: string; objectId: string }>,
    catalog: CatalogEntry[],
    dryRun: boolean,
  ): Promise<number> {
    const byId = new Map(catalog.map((r) => [r.id, r]));
    const byName = new Map(catalog.map((r) => [r.name, r]));
    const present = new Set(onDisk.map(at));
    const anywhere = new Set(onDisk.map((f) => f.objectId));
    let matched = 0;
    const groups = new Map<number, Found[]>();
    for (const f of found) {
      if (!f.label) {
        const owner = catalog.find((r) => r.object_id === f.objectId);
        if (owner && owner.location === f.location && owner.tier === f.tier) matched++;
        else if (!owner)
          this.note({
            action: 'unknown',
            object: f.file,
            detail: 'a format version 1 object (no label) that no dataset points at: it cannot be catalogued',
          });
        else this.stray(f, owner.id, `dataset ${owner.id} points at ${owner.location}/${owner.tier}`);
        continue;
      }
      const id = f.label.facts.dataset_id;
      groups.set(id, [...(groups.get(id) ?? []), f]);
    }
    for (const [id, copies] of groups) {
      // The newest first: an older object of the same dataset is a copy an upload replaced.
      copies.sort((a, b) => b.label!.facts.written_at - a.label!.facts.written_at);
      const row = byId.get(id);
      const keep = row ? this.chosen(row, copies, present) : copies[0]!;
      if (row && keep && row.object_id === keep.objectId && row.location === keep.location && row.tier === keep.tier)
        matched++;
      else if (keep) await this.restore(keep, row, byName, dryRun);
      for (const c of copies)
        if (c !== keep) this.stray(c, id, `dataset ${id} has a ${keep ? 'newer or current' : 'current'} object`);
    }
    for (const row of catalog) {
      if (!row.object_id || present.has(at({ ...row, objectId: row.object_id }))) continue;
      if (groups.has(row.id) || anywhere.has(row.object_id)) continue; // attached above, or found elsewhere unlabelled
      const damage = `its stored object ${row.object_id} was in no store when recover ran`;
      this.note({ action: 'detached', dataset_id: row.id, detail: `now catalog-only: ${damage}` });
      if (!dryRun) await this.repo.detach(row.id, damage, this.deps.clock.now());
    }
    return matched;
  }

  /** Which of a dataset's labelled objects the row should point at; undefined if its own object is present (even unlabelled). */
  private chosen(row: CatalogEntry, copies: Found[], present: Set<string>): Found | undefined {
    const own = copies.find((c) => c.objectId === row.object_id);
    if (row.object_id && present.has(at({ ...row, objectId: row.object_id })))
      return own && own.location === row.location && own.tier === row.tier ? own : undefined;
    return own ?? copies[0];
  }

  private stray(f: Found, datasetId: number, why: string): void {
    this.note({
      action: 'stray',
      object: f.file,
      dataset_id: datasetId,
      detail: `${why}: this copy is left in place (remove it once you are sure it is not needed)`,
    });
  }

  /** A labelled object put back: a new row, or an existing row pointed at it. */
  private async restore(
    f: Found,
    row: CatalogEntry | undefined,
    byName: Map<string, CatalogEntry>,
    dryRun: boolean,
  ): Promise<void> {
    const { kekId, wrapped, facts } = f.label!;
    const object = f.file;
    const now = this.deps.clock.now();
    const content = {
      tier: f.tier,
      location: f.location,
      object_id: f.objectId,
      content_bytes: facts.bytes,
      content_sha256: facts.sha256,
      wrapped_key: wrapped,
      kek_id: kekId,
      content_updated_at: facts.written_at,
      updated_at: now,
    };
    if (!row) {
      const other = byName.get(facts.name);
      if (other) {
        const detail = `dataset ${facts.dataset_id} "${facts.name}": the name belongs to dataset ${other.id} in the catalog`;
        this.note({ action: 'skipped', object, dataset_id: facts.dataset_id, detail });
        return;
      }
      this.note({
        action: 'added',
        object,
        dataset_id: facts.dataset_id,
        detail: `"${facts.name}", ${facts.bytes} bytes`,
      });
      if (dryRun) return;
      await this.deps.keyring.adopt(kekId);
      const size_gb = facts.bytes / 1e9; // as an upload sets it
      await this.repo.insert({
        id: facts.dataset_id,
        name: facts.name,
        tags: '[]',
        size_gb,
        created_at: facts.written_at,
        ...content,
      });
      return;
    }
    const was = row.object_id
      ? `pointed at ${row.location}/${row.tier}/${row.object_id}, in no store`
      : 'was catalog-only';
    this.note({ action: 'attached', object, dataset_id: row.id, detail: `the row ${was}` });
    if (dryRun) return;
    await this.deps.keyring.adopt(kekId);
    await this.repo.attach(row.id, content);
  }
}
