import { StateError } from '../../../contract/errors';

/** The stored state cannot be read. It is left untouched: starting over is the user's decision (`--reset-state`). */
export class CorruptStateError extends StateError {
  constructor(location: string, reason: string, options?: { readonly cause?: unknown }) {
    super(`state at ${location} is corrupt (${reason}); it was left untouched. Inspect it, or start over with --reset-state (the old state is kept beside it)`, options);
  }
}
