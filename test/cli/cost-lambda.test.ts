import { cycleEstimate, MEASURED_CPU_SECONDS } from '../../contract/bridge-capacity';
import { estimatedLambdaBill, lambdaBill, LAMBDA_PRICES } from '../../cli/cost-lambda';

describe("the bridge Lambda's own bill", () => {
  test('GB-seconds at the memory (1,024 MB = 1 GB) for every invocation of a 30-day month, at the Arm list price; requests at $0.20 a million', () => {
    const bill = lambdaBill({ memoryMiB: 1024, secondsPerInvocation: 60, scheduleMinutes: 5 });
    expect(bill.invocationsPerMonth).toBe(8640);
    expect(bill.gbSecondsPerMonth).toBe(518_400);
    expect(bill.durationUsd).toBeCloseTo(518_400 * 0.0000133334, 6);
    expect(bill.requestsUsd).toBeCloseTo(8640 * 0.2e-6, 9);
    const half = lambdaBill({ memoryMiB: 512, secondsPerInvocation: 60, scheduleMinutes: 5, shards: 3, architecture: 'x86_64' });
    expect(half.gbSecondsPerMonth).toBe(3 * 259_200);
    expect(half.perGbSecond).toBe(LAMBDA_PRICES.perGbSecond.x86_64);
  });

  test('a region priced above us-east-1 bills its own price; the others the us-east-1 one', () => {
    expect(lambdaBill({ memoryMiB: 1024, secondsPerInvocation: 1, scheduleMinutes: 5, region: 'af-south-1' }).perGbSecond).toBe(0.00001768);
    expect(lambdaBill({ memoryMiB: 1024, secondsPerInvocation: 1, scheduleMinutes: 5, region: 'eu-west-1' }).perGbSecond).toBe(0.0000133334);
  });

  test("a fleet's estimate bills each shard's steady cycle at the function's CPU share: CPU-seconds / (MB / 1,769)", () => {
    const { bill, cycle } = estimatedLambdaBill({ variants: 10_000, shards: 2, memoryMiB: 1769, scheduleMinutes: 5 });
    expect(cycle).toEqual(cycleEstimate({ variants: 5000, memoryMiB: 1769 }));
    expect(bill.secondsPerInvocation).toBeCloseTo(MEASURED_CPU_SECONDS.fixedSeconds + 5000 * MEASURED_CPU_SECONDS.steadyPerVariant, 9);
    expect(bill.invocationsPerMonth).toBe(2 * 8640);
  });
});
