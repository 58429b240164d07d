import type { MoveStore, Placement } from './store';

/**
 * Moves between file stores keep the file tree's own copy (copy_file_range, verified as it
 * lands); a move with an object store on either side goes to the object stores' copy.
 */
export function routingMoveStore(
  files: MoveStore,
  objects: MoveStore,
  isFile: (location: Placement['location']) => boolean,
  /** Told how each copy is made ('file', 'server' or 'streamed'), for the move's record. */
  record: (moveId: number, copy: 'file' | 'server' | 'streamed') => Promise<void>,
): MoveStore {
  const pick = (at: Placement): MoveStore => (isFile(at.location) ? files : objects);
  return {
    size: (at, id) => pick(at).size(at, id),
    stage: async (from, to, id, c) => {
      const both = isFile(from.location) && isFile(to.location);
      await record(c.moveId, both ? 'file' : from.location === to.location ? 'server' : 'streamed');
      return (both ? files : objects).stage(from, to, id, c);
    },
    checksSourceInStage: (from, to) =>
      isFile(from.location) && isFile(to.location) ? false : (objects.checksSourceInStage?.(from, to) ?? false),
    authenticate: (at, id, dek, bytes, pace, signal) => pick(at).authenticate(at, id, dek, bytes, pace, signal),
    remove: (at, id) => pick(at).remove(at, id),
    retire: (at, id, size) => pick(at).retire(at, id, size),
  };
}
