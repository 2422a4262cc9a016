import { RecoverableError } from '../../../contract/errors';

/**
 * A cycle stopped while reading or writing, before its commit: the cause says which call failed. What it wrote
 * is journaled, and the next cycle replays it and reads the same window again.
 */
export class UncommittedCycleError extends RecoverableError {}
