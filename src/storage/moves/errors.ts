/** A move stopped because it was asked to: cancelled, or interrupted by shutdown. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** The abort reason of a move stopped by shutdown: it is planned again, not cancelled. */
export const INTERRUPTED = 'interrupted';

/** The abort reason of a move whose claim another instance took over: the row and the copy are the new owner's. */
export const CLAIM_LOST = 'claim lost';
export { ClaimLost } from '../claim-lost';
