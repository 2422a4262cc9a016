/**
 * The demo's vLLM endpoints: SageMaker AI detailed observability served by the CloudWatch PromQL stand-in
 * (test/support/stand-ins/llm-fleet.ts), which the bridge reads with its PromQL source (`promql.enabled`). During the
 * demo's incident the chat endpoint's time to first token jumps, and SageMakerLlmTimeToFirstTokenP99High must fire.
 */
import { CloudWatchPromQlStandIn } from '../test/support/stand-ins/cloudwatch-promql-stand-in';
import { defaultLlmFleet, LlmFleetFeed, type LlmFleet } from '../test/support/stand-ins/llm-fleet';
import type { Scenario } from '../test/support/stand-ins/scenario';

const MINUTE = 60_000;
/** The stand-in holds this much history, more than the bridge's first cycle reads (discovery included). */
const HISTORY_MS = 3 * 60 * MINUTE;
/** New periods reach the stand-in this often: each as soon as it ends, within the bridge's settle delay. */
const FILL_EVERY_MS = 15_000;

/** The LLM fleet of the demo's story: the chat endpoint's spike is the incident's time. */
export function demoLlmFleet(scenario: Scenario): LlmFleet {
  return defaultLlmFleet({ endpoint: 'llm-chat', start: scenario.incident.start * 1000, end: scenario.incident.end * 1000 });
}

export interface RunningLlmFleet {
  readonly promql: CloudWatchPromQlStandIn;
  readonly fleet: LlmFleet;
  stop(): Promise<void>;
}

/** Starts the PromQL stand-in with the fleet's history, and keeps adding each period as it ends. */
export async function startLlmFleet(fleet: LlmFleet, region: string, now: number = Date.now()): Promise<RunningLlmFleet> {
  const promql = new CloudWatchPromQlStandIn(region);
  await promql.start();
  const feed = new LlmFleetFeed(fleet, promql.series, now - HISTORY_MS);
  feed.fill(now);
  const timer = setInterval(() => feed.fill(Date.now()), FILL_EVERY_MS);
  timer.unref();
  return {
    promql,
    fleet,
    stop: async () => {
      clearInterval(timer);
      await promql.stop();
    },
  };
}

/** The bridge config's `promql` block for the stand-in. */
export function promqlConfig(url: string): string {
  return `promql:\n  enabled: true\n  endpoint: ${url}\n`;
}

/** The LLM alerts the incident must fire. */
export function expectedLlmAlerts(fleet: LlmFleet): ReadonlyArray<{ alert: string; endpoint: string }> {
  return fleet.spike ? [{ alert: 'SageMakerLlmTimeToFirstTokenP99High', endpoint: fleet.spike.endpoint }] : [];
}

/** The banner's lines for the LLM endpoints. */
export function llmLines(fleet: LlmFleet, url: string): string {
  const endpoints = [...new Set(fleet.instances.map((i) => i.endpoint))];
  const lines = [`  CloudWatch PromQL stand-in ${url}  (vLLM: ${endpoints.join(', ')}; detailed observability, OTel deltas, histograms native)`];
  if (fleet.spike) lines.push(`  LLM incident        ${fleet.spike.endpoint}: time to first token jumps from 100-500 ms to seconds`);
  return lines.join('\n');
}
