import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { base, bridgeLatest, bridgeRate, query, SCOPE, timeseries, variable } from './shared';

/**
 * Inferentia: the same names whether they come from neuron-monitor on a host or from CloudWatch through the bridge.
 * The first row puts NeuronCore utilisation beside what the model server makes of it, for one host at a glance.
 */
export function neuronDashboard(): Dashboard {
  const host = `${SCOPE}, instance_id=~"$instance_id"`;
  const model = `${host}, model_name=~"$model_name"`;
  // TorchServe's latency counters are in microseconds (see the collector config): / 1e6 gives seconds.
  const meanLatency = (counter: string) =>
    `sum by (instance_id, model_name) (rate(${counter}{${model}}[$__rate_interval])) / 1e6 / sum by (instance_id, model_name) (rate(ts_inference_requests_total{${model}}[$__rate_interval]))`;
  return base('inferwatch-neuron', 'inferwatch / Inferentia (Neuron)', 'neuroncore_utilization_ratio', 'none')
    .withVariable(variable('instance_id', 'Instance', 'neuroncore_utilization_ratio', SCOPE))
    .withVariable(variable('model_name', 'Model', 'ts_inference_requests_total', host))
    .withRow(new RowBuilder('NeuronCores and models'))
    .withPanel(timeseries('NeuronCore utilisation', 'percentunit', [query(`avg by (instance_id, neuroncore) (${bridgeLatest(`neuroncore_utilization_ratio{${host}}`)})`, '{{instance_id}} core {{neuroncore}}')]))
    .withPanel(
      timeseries(
        'Mean inference and queue latency per model',
        's',
        [query(meanLatency('ts_inference_latency_microseconds_total'), 'inference {{model_name}} {{instance_id}}'), query(meanLatency('ts_queue_latency_microseconds_total'), 'queue {{model_name}} {{instance_id}}')],
        'TorchServe on the host. Queue latency is the wait for a free worker: near zero unless every worker is busy.',
      ),
    )
    .withPanel(timeseries('Requests per second per model', 'reqps', [query(`sum by (instance_id, model_name) (rate(ts_inference_requests_total{${model}}[$__rate_interval]))`, '{{model_name}} {{instance_id}}')]))
    .withRow(new RowBuilder('Neuron runtime'))
    .withPanel(timeseries('Execution latency', 's', [query(`max by (instance_id, percentile) (${bridgeLatest(`execution_latency_seconds{${host}}`)})`, '{{instance_id}} {{percentile}}')]))
    .withPanel(timeseries('Execution errors per second', 'short', [query(`sum by (instance_id, error_type) (${bridgeRate(`execution_errors_total{${host}}`)})`, '{{instance_id}} {{error_type}}')]))
    .withPanel(
      timeseries(
        'Hardware ECC events per hour',
        'short',
        [query(`sum by (instance_id, event_type) (increase(hardware_ecc_events_total{${host}}[1h]))`, '{{instance_id}} {{event_type}}')],
        'Uncorrected events mean a failing device: move the workload off the host.',
      ),
    )
    .withPanel(timeseries('Executions per second', 'short', [query(`sum by (instance_id, status_type) (${bridgeRate(`execution_status_total{${host}}`)})`, '{{instance_id}} {{status_type}}')]))
    .withPanel(
      timeseries('Memory', 'bytes', [
        query(`sum by (instance_id, memory_location) (${bridgeLatest(`neuron_runtime_memory_used_bytes{${host}}`)})`, 'runtime {{memory_location}} {{instance_id}}'),
        query(`max by (instance_id) (${bridgeLatest(`system_memory_used_bytes{${host}}`)})`, 'host used {{instance_id}}'),
      ]),
    )
    .withPanel(timeseries('vCPU usage', 'percentunit', [query(`sum by (instance_id, usage_type) (${bridgeLatest(`system_vcpu_usage_ratio{${host}}`)})`, '{{instance_id}} {{usage_type}}')]))
    .withRow(new RowBuilder('Model server (TorchServe)'))
    .withPanel(
      timeseries(
        'Responses per second by status class',
        'reqps',
        [query(`sum by (instance_id, class) (rate(ts_requests_total{${host}}[$__rate_interval]))`, '{{class}} {{instance_id}}')],
        'TorchServe counts status classes per host, for every model and API together.',
      ),
    )
    .withPanel(
      timeseries(
        'Last request: handler and prediction time',
        'ms',
        [
          query(`max by (instance_id, model_name) (ts_handler_time_milliseconds{${model}})`, 'handler {{model_name}} {{instance_id}}'),
          query(`max by (instance_id, model_name) (ts_prediction_time_milliseconds{${model}})`, 'prediction {{model_name}} {{instance_id}}'),
        ],
        "TorchServe's gauges hold the latest request's value, not an average: the latency panel above averages.",
      ),
    )
    .withPanel(timeseries('Worker load time', 'ms', [query(`max by (instance_id, worker_name) (ts_worker_load_time_milliseconds{${model}})`, '{{worker_name}} {{instance_id}}')]))
    .withPanel(timeseries('TorchServe scraped', 'short', [query(`max by (instance_id) (up{job="torchserve", ${host}})`, '{{instance_id}}')], '1 where the collector reaches TorchServe, 0 on hosts that do not run it.'))
    .build();
}
