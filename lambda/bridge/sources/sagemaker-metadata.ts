import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { RateLimiter } from '../concurrency';
import type { SageMakerCache } from '../sagemaker/cache';
import { emptySageMakerCache, metadataSeries, refreshEndpointMetadata, type MetadataSeriesOptions } from '../sagemaker/metadata';
import { endpointInShard } from '../shard';
import type { BridgeState } from '../state/state';
import type { SourceContext } from './context';
import type { MetricSource, PlanInput, SeriesFamily, Snapshot, SnapshotTimes, SourcePlan, SourceRead } from './source';

/** Describing may go on this long even when the windowed reads end sooner. */
const METADATA_MIN_MS = 10_000;

/**
 * SageMaker's own answers about endpoints, variants and inference components (instance type and counts, weights,
 * status, tags), as `_info` and count series at the end of each cycle. Its SageMaker calls wait on another API's
 * quota than CloudWatch's, so its listing and describing run beside the windowed reads, never before them; what is
 * described lives in the state, so its calls grow with change, not with the fleet.
 */
export class SageMakerMetadataSource implements MetricSource {
  readonly name = 'sagemaker';

  constructor(
    private readonly sagemaker: SageMakerClient,
    private readonly context: SourceContext,
  ) {}

  /** Nothing before the window: the listing runs beside the reads (see `begin`). */
  async discover(): Promise<void> {}

  plan(input: PlanInput): SourcePlan {
    return new SageMakerMetadataPlan(this.sagemaker, this.context, input.previous);
  }
}

class SageMakerMetadataPlan implements SourcePlan {
  readonly discovered = 0;
  readonly queries = 0;
  readonly samplesPerPeriod = 0;
  private readonly cache: SageMakerCache;
  /** The resources that went away this cycle, once the refresh is done. */
  private refreshed: Promise<SageMakerCache> | undefined;

  constructor(
    private readonly sagemaker: SageMakerClient,
    private readonly context: SourceContext,
    previous: BridgeState,
  ) {
    this.cache = structuredClone(previous.sagemaker ?? emptySageMakerCache());
  }

  families(): Iterable<SeriesFamily> {
    return [];
  }

  reads(): Iterable<SourceRead> {
    return [];
  }

  begin(readsDone: () => boolean): void {
    const { config, deps, calls, startedAt } = this.context;
    const wallStart = Date.now();
    this.refreshed = refreshEndpointMetadata(this.sagemaker, this.cache, {
      now: startedAt,
      refreshMs: config.sagemakerRefresh * 1000,
      concurrency: config.concurrency,
      limiter: new RateLimiter(config.sagemakerTps),
      maxDescribes: config.sagemakerMaxDescribes,
      // Describing never makes the cycle longer than its windowed reads (or 10 s): the rest follows next cycle.
      timeUp: () => readsDone() && Date.now() - wallStart > METADATA_MIN_MS,
      calls,
      logger: deps.logger,
      inShard: (name) => endpointInShard(name, config.shard),
      tags: deps.tagging && config.endpointTags.length > 0 ? { client: deps.tagging, keys: config.endpointTags, refreshMs: config.endpointTagsRefresh * 1000 } : undefined,
    });
    // Awaited by the snapshot, after the reads; a failure must not go unhandled meanwhile.
    this.refreshed.catch(() => {});
  }

  async snapshot(times: SnapshotTimes): Promise<Snapshot> {
    const ended = await this.refreshed;
    const { config, deps } = this.context;
    const options: MetadataSeriesOptions = { timestamp: times.at, baseLabels: deps.baseLabels, maxLabelValueLength: config.maxLabelValueLength, tagKeys: config.endpointTags };
    return {
      current: metadataSeries(this.cache, options),
      ended: ended ? metadataSeries(ended, { ...options, timestamp: times.endedAt, stale: true }) : [],
    };
  }

  commit(state: BridgeState): void {
    state.sagemaker = this.cache;
  }
}
