/** A write to a move the database refused: another instance claims it now (this one stalled past its claim). */
export class ClaimLost extends Error {
  constructor(readonly moveId: number) {
    super(`move ${moveId} is claimed by another instance now: this instance's write was refused`);
  }
}
