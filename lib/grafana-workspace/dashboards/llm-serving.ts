import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { base, bridgeLatest, bridgeRate, ENDPOINT, query, SCOPE, sumRate, timeseries, variable } from './shared';

/**
 * SageMaker AI detailed observability (vLLM/SGLang, DCGM, placement), as the bridge's PromQL source writes it. These
 * series exist per instance only, with no per-variant copy beside them: sums over instances count each request
 * once, and `instance_id!=""` keeps it so should an aggregate ever appear (the same selection as the recording rules
 * of group inferwatch-llm). An endpoint without inference components has no component label: "All" (`.*`) matches
 * it too.
 */
const LLM = `${ENDPOINT}, inference_component_name=~"$inference_component_name", instance_id!=""`;
const BY = ['endpoint_name', 'inference_component_name'];
const LEGEND = '{{endpoint_name}} {{inference_component_name}}';
const by = BY.join(', ');

/** The `q` quantile of an engine histogram per endpoint and component, over the complete window. */
function engineQuantile(family: string, q: number): string {
  return `histogram_quantile(${q}, sum by (le, ${by}) (${bridgeRate(`${family}_bucket{${LLM}}`)}))`;
}

/** The newest reading of an engine or GPU gauge, reduced per endpoint and component. */
function newest(reduce: 'max' | 'sum' | 'avg', metric: string): string {
  return `${reduce} by (${by}) (${bridgeLatest(`${metric}{${LLM}}`)})`;
}

/**
 * Errors of a sparse counter (the bridge writes ICECount's total only in periods with errors) in the last hour: the
 * total now less the total before the hour, as rule endpoint:sagemaker_insufficient_capacity_errors:increase1h does.
 * increase() would miss an error whose predecessor is over an hour old, and read one error as 1.5.
 */
function errorsInLastHour(selector: string): string {
  return `sum by (endpoint_name) (last_over_time(${selector}[1h]) - (last_over_time(${selector}[1w] offset 1h) or min_over_time(${selector}[1h])))`;
}

/** LLM serving: what users wait for (first token, next token), what the engines carry, and how close they are to full. */
export function llmServingDashboard(): Dashboard {
  const gpuMemory = `max by (${by}) (${bridgeLatest(`sagemaker_gpu_memory_used_bytes{${LLM}}`)} / (${bridgeLatest(`sagemaker_gpu_memory_used_bytes{${LLM}}`)} + ${bridgeLatest(`sagemaker_gpu_memory_free_bytes{${LLM}}`)}))`;
  return base('inferwatch-llm', 'inferwatch / LLM serving', 'sagemaker_llm_generation_tokens_total', 'listed')
    .withVariable(variable('inference_component_name', 'Component', 'sagemaker_llm_generation_tokens_total', `${SCOPE}, endpoint_name=~"$endpoint_name"`))
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeseries(
        'Time to first token, p50 and p99',
        's',
        [query(engineQuantile('sagemaker_llm_time_to_first_token_seconds', 0.99), `p99 ${LEGEND}`), query(engineQuantile('sagemaker_llm_time_to_first_token_seconds', 0.5), `p50 ${LEGEND}`)],
        "Queueing plus prefill, from the engine's histogram pooled over the instances. SageMakerLlmTimeToFirstTokenP99High fires above the objective (2 s by default).",
      ),
    )
    .withPanel(
      timeseries(
        'Inter-token latency, p50 and p99',
        's',
        [query(engineQuantile('sagemaker_llm_inter_token_latency_seconds', 0.99), `p99 ${LEGEND}`), query(engineQuantile('sagemaker_llm_inter_token_latency_seconds', 0.5), `p50 ${LEGEND}`)],
        'The time between output tokens once a stream runs: decode speed, slowed by large batches and preemption.',
      ),
    )
    .withRow(new RowBuilder('Load'))
    .withPanel(
      timeseries('Tokens per second, in and out', 'short', [
        query(sumRate('sagemaker_llm_prompt_tokens_total', LLM, BY), `in ${LEGEND}`),
        query(sumRate('sagemaker_llm_generation_tokens_total', LLM, BY), `out ${LEGEND}`),
      ]),
    )
    .withPanel(
      timeseries(
        'Requests running and waiting',
        'short',
        [query(newest('sum', 'sagemaker_llm_requests_running'), `running ${LEGEND}`), query(newest('sum', 'sagemaker_llm_requests_waiting'), `waiting ${LEGEND}`)],
        "Summed over the instances. Waiting requests have no room in the engine's batch yet: a queue that keeps growing fires SageMakerLlmRequestQueueGrowing.",
      ),
    )
    .withRow(new RowBuilder('Capacity'))
    .withPanel(
      timeseries(
        'KV cache usage, fullest instance',
        'percentunit',
        [query(newest('max', 'sagemaker_llm_kv_cache_usage_ratio'), LEGEND)],
        'Near 1 the engine preempts running sequences and new requests wait.',
      ),
    )
    .withPanel(timeseries('GPU utilisation', 'percentunit', [query(newest('avg', 'sagemaker_gpu_utilization_ratio'), LEGEND)], "DCGM's GPU utilisation, averaged over the GPUs attributed to the component."))
    .withPanel(
      timeseries(
        'GPU memory used, fullest GPU',
        'percentunit',
        [query(gpuMemory, LEGEND)],
        "DCGM used / (used + free). vLLM reserves --gpu-memory-utilization (0.9 by default) at start, so about 90% is normal.",
      ),
    )
    .withRow(new RowBuilder('Placement and scaling'))
    .withPanel(
      timeseries(
        'Insufficient-capacity errors in the last hour',
        'short',
        [query(errorsInLastHour(`sagemaker_insufficient_capacity_errors_total{${ENDPOINT}}`), '{{endpoint_name}}')],
        'ICECount: SageMaker found no capacity of the instance type while scaling or replacing instances.',
      ),
    )
    .withPanel(
      timeseries('Scaling latency, start to serving', 's', [query(`max by (endpoint_name) (max_over_time(sagemaker_scaling_latency_seconds{${ENDPOINT}}[15m]))`, '{{endpoint_name}}')], 'E2EScalingLatency of the scaling actions in the last 15 minutes.'),
    )
    .build();
}
