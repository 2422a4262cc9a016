import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Catalog } from '../catalog/catalog';
import type { DiscoveryCache } from '../cloudwatch/discovery';
import type { BridgeConfig } from '../../../contract/bridge-config';
import type { BridgeLogger } from '../logger';
import type { ApiCallCounter } from '../self-metrics';

/** The clients and caches sources read with: the cycle's dependencies (`CycleDeps` has them all). */
export interface SourceDeps {
  readonly cloudwatch: CloudWatchClient;
  /** Absent: no endpoint metadata source. */
  readonly sagemaker?: SageMakerClient;
  /** Absent: no endpoint tags. */
  readonly tagging?: ResourceGroupsTaggingAPIClient;
  readonly discoveryCache: DiscoveryCache;
  /** Labels on every series: `region`, and `account_id` when known. */
  readonly baseLabels: Readonly<Record<string, string>>;
  readonly logger: BridgeLogger;
}

/** What every source of one cycle shares. */
export interface SourceContext {
  readonly config: BridgeConfig;
  readonly catalog: Catalog;
  readonly deps: SourceDeps;
  /** API calls and what they bill, for the self-metrics. */
  readonly calls: ApiCallCounter;
  /** Epoch ms: the cycle's clock when it started. */
  readonly startedAt: number;
}
