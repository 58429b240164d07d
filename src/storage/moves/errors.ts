/** A move stopped because it was asked to: cancelled, or interrupted by shutdown. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** The abort reason of a move stopped by shutdown: it is planned again, not cancelled. */
export const INTERRUPTED = 'interrupted';
