import { cycleEstimate, type CycleEstimate } from '../contract/bridge-capacity';

/**
 * The bridge Lambda's own bill: duration (GB-seconds at the function's memory, billed to the millisecond) and
 * requests. On-demand list prices, first volume tier (6 billion x86 / 7.5 billion Arm GB-seconds a month), before the
 * free tier (400,000 GB-seconds and 1 million requests a month per account). Source: https://aws.amazon.com/lambda/pricing/
 * (us-east-1, read 2026-12-04); the regions priced above it as the same page lists them (transcribed in artillery
 * 2.0.28's lib/platform/aws-lambda/prices.js). Every other commercial region bills the us-east-1 price.
 */
export const LAMBDA_PRICES = {
  source: 'https://aws.amazon.com/lambda/pricing/ (on-demand, first tier, read 2026-12-04)',
  requestsPerMillion: 0.2,
  perGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  byRegion: {
    'af-south-1': { arm64: 0.00001768, x86_64: 0.0000221 },
    'ap-east-1': { arm64: 0.0000183, x86_64: 0.00002292 },
    'eu-south-1': { arm64: 0.0000156138, x86_64: 0.0000195172 },
    'me-south-1': { arm64: 0.0000165334, x86_64: 0.0000206667 },
    'me-central-1': { arm64: 0.0000165334, x86_64: 0.0000206667 },
  } as Readonly<Record<string, { arm64: number; x86_64: number }>>,
} as const;

export type LambdaArchitecture = 'arm64' | 'x86_64';

export interface LambdaBill {
  readonly memoryMiB: number;
  readonly region: string;
  readonly architecture: LambdaArchitecture;
  readonly invocationsPerMonth: number;
  readonly secondsPerInvocation: number;
  readonly gbSecondsPerMonth: number;
  readonly durationUsd: number;
  readonly requestsUsd: number;
  readonly perGbSecond: number;
}

const MINUTES_PER_MONTH = 30 * 24 * 60;

/** A month (30 days) of `shards` bridge functions, one invocation every `scheduleMinutes` each, of `secondsPerInvocation` billed duration. */
export function lambdaBill(input: {
  readonly memoryMiB: number;
  readonly secondsPerInvocation: number;
  readonly scheduleMinutes: number;
  readonly shards?: number;
  readonly region?: string;
  readonly architecture?: LambdaArchitecture;
}): LambdaBill {
  const region = input.region ?? 'us-east-1';
  const architecture = input.architecture ?? 'arm64';
  const perGbSecond = (LAMBDA_PRICES.byRegion[region] ?? LAMBDA_PRICES.perGbSecond)[architecture];
  const invocationsPerMonth = (MINUTES_PER_MONTH / input.scheduleMinutes) * (input.shards ?? 1);
  // Lambda's GB is 1,024 MB: a 1,024 MB function bills 1 GB-second a second.
  const gbSecondsPerMonth = invocationsPerMonth * input.secondsPerInvocation * (input.memoryMiB / 1024);
  return {
    memoryMiB: input.memoryMiB,
    region,
    architecture,
    invocationsPerMonth,
    secondsPerInvocation: input.secondsPerInvocation,
    gbSecondsPerMonth,
    durationUsd: gbSecondsPerMonth * perGbSecond,
    requestsUsd: (invocationsPerMonth / 1e6) * LAMBDA_PRICES.requestsPerMillion,
    perGbSecond,
  };
}

/** The bill of a fleet's shards, each cycle's duration estimated from the measured CPU at the function's share (contract/bridge-capacity.ts). */
export function estimatedLambdaBill(input: { readonly variants: number; readonly shards: number; readonly memoryMiB: number; readonly scheduleMinutes: number; readonly region?: string }): {
  readonly bill: LambdaBill;
  readonly cycle: CycleEstimate;
} {
  const cycle = cycleEstimate({ variants: Math.ceil(input.variants / input.shards), memoryMiB: input.memoryMiB });
  return { cycle, bill: lambdaBill({ ...input, secondsPerInvocation: cycle.steadyWallSeconds }) };
}

export function formatLambdaBill(bill: LambdaBill, note: string): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  return [
    `Bridge Lambda (${bill.architecture}, ${bill.memoryMiB} MB, ${bill.region}): ${Math.round(bill.invocationsPerMonth)} invocations a month of ${bill.secondsPerInvocation.toFixed(1)} s ${note}`,
    `  duration ${Math.round(bill.gbSecondsPerMonth).toLocaleString('en-US')} GB-seconds × $${bill.perGbSecond} = ${usd(bill.durationUsd)}; requests ${usd(bill.requestsUsd)}; total ${usd(bill.durationUsd + bill.requestsUsd)} a month before the free tier`,
    `  Prices: ${LAMBDA_PRICES.source}.`,
  ].join('\n');
}
