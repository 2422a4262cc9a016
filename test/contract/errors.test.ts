import { ConfigError, hasRemedy, InferwatchError, RecoverableError, StateError, UsageError } from '../../contract/errors';

describe('error classes', () => {
  it('name themselves and say what the caller must do', () => {
    const cases: Array<[InferwatchError, string, string]> = [
      [new ConfigError('config key "period": must be a multiple of 60'), 'ConfigError', 'fix-config'],
      [new UsageError('--now needs --once'), 'UsageError', 'fix-config'],
      [new RecoverableError('GetMetricData throttled'), 'RecoverableError', 'retry'],
      [new StateError('state at s3://b/k is corrupt'), 'StateError', 'inspect-state'],
    ];
    for (const [error, name, remedy] of cases) {
      expect(error).toBeInstanceOf(InferwatchError);
      expect(error.name).toBe(name);
      expect(error.remedy).toBe(remedy);
      expect(hasRemedy(error, remedy as InferwatchError['remedy'])).toBe(true);
    }
    expect(hasRemedy(new Error('plain'), 'retry')).toBe(false);
  });

  it('keeps the cause and leaves the message as written', () => {
    const cause = new Error('socket hang up');
    const error = new RecoverableError('PutObject state failed after 3 attempts', { cause });
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('PutObject state failed after 3 attempts');
  });

  it('names a subclass after itself', () => {
    class LeaseHeldError extends RecoverableError {}
    expect(new LeaseHeldError('held').name).toBe('LeaseHeldError');
  });
});
