import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DiscoveryCache } from '../cloudwatch/discovery';
import type { BridgeLogger } from '../logger';
import type { RejectReason, SendResult } from '../remote-write/client';
import type { RawQuery } from '../remote-write/query';
import type { StateStore } from '../state/store';
import type { CycleWindow } from '../windows';

/** Everything the cycle talks to, injected so tests drive it without globals. */
export interface CycleDeps {
  readonly cloudwatch: CloudWatchClient;
  /** Absent: no endpoint metadata series. */
  readonly sagemaker?: SageMakerClient;
  /** Reads endpoint tags (`endpointTags`); absent: no tag labels. */
  readonly tagging?: ResourceGroupsTaggingAPIClient;
  readonly store: StateStore;
  /** Sends one remote-write request body. */
  readonly send: (body: Uint8Array) => Promise<SendResult>;
  /** The cycle's clock (simulated in replays and tests). */
  readonly now: () => number;
  /** Epoch ms (wall clock) by which this cycle must have ended: the Lambda's deadline. Its journal lease ends there. */
  readonly deadline: () => number;
  readonly logger: BridgeLogger;
  readonly discoveryCache: DiscoveryCache;
  /** Labels on every series: `region`, and `account_id` when known. */
  readonly baseLabels: Readonly<Record<string, string>>;
  /** Where a dry run writes its text exposition. */
  readonly output?: (text: string) => void;
  /** The receiver's query API (raw samples), to take each series up where the receiver has it after a loss of state. */
  readonly receiverQuery?: RawQuery;
}

export interface CycleOptions {
  /** Write the text exposition to `output`; read no journal, write nothing, commit nothing. */
  readonly dryRun?: boolean;
  /** Move the stored state aside and start as if there were none. */
  readonly resetState?: boolean;
}

export interface CycleReport {
  readonly window: CycleWindow | undefined;
  /** Epoch ms: everything before it has been forwarded (after this cycle). */
  readonly highWaterMark: number | undefined;
  readonly replayedBatches: number;
  readonly metricsDiscovered: number;
  readonly queries: number;
  readonly getMetricDataCalls: number;
  readonly series: number;
  readonly samples: number;
  readonly batches: number;
  readonly written: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  /** Samples a retry found already stored: the first attempt was stored and its response lost. Nothing is missing. */
  readonly alreadyStored: number;
  /** Datapoints older than the receiver accepts: not written (counters carried their sums on). */
  readonly skippedTooOld: number;
  /** Bytes of text exposition written (dry run). */
  readonly expositionBytes: number;
}
