/**
 * Every error inferwatch raises on purpose says what its caller must do about it, as Prometheus' remote storage
 * separates `RecoverableError` from the rest: a caller branches on `remedy`, never on the message's text.
 * Messages are written once, at construction; wrap with `cause` to add context, never edit `message` in place.
 */
export type ErrorRemedy =
  /** Transient: the same call may succeed later (throttling, a 5xx, a lease another run still holds). */
  | 'retry'
  /** The configuration (a file, a flag, a stack prop) is wrong: the message names the key. Exit 2 on the CLI. */
  | 'fix-config'
  /** Stored state cannot be used as it is: a person must look at it (or reset it on purpose). */
  | 'inspect-state'
  /** Anything else we raise deliberately: the message says what failed and why. */
  | 'report';

export abstract class InferwatchError extends Error {
  abstract readonly remedy: ErrorRemedy;

  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Any configuration problem, at synth or at run time; the message names the offending key. */
export class ConfigError extends InferwatchError {
  readonly remedy = 'fix-config' as const;
}

/** A command used wrongly (a missing or contradictory flag) in a way the argument parser cannot see: exit 2. */
export class UsageError extends InferwatchError {
  readonly remedy = 'fix-config' as const;
}

/** A failure that the next attempt (or the next cycle) may not meet. */
export class RecoverableError extends InferwatchError {
  readonly remedy = 'retry' as const;
}

/** Stored state that cannot be used as it is. */
export class StateError extends InferwatchError {
  readonly remedy = 'inspect-state' as const;
}

/** True when `error` is one of ours and asks for `remedy`. */
export function hasRemedy(error: unknown, remedy: ErrorRemedy): boolean {
  return error instanceof InferwatchError && error.remedy === remedy;
}
