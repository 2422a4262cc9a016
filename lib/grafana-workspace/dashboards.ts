import { DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, VariableRefresh, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
// Dashboards default to the data source the provisioner creates.
import { DATASOURCE_UID } from '../../lambda/grafana-provisioner/provision';


const DS = { type: 'prometheus', uid: '${datasource}' };

/**
 * Bridge data trails real time by up to the schedule plus the settle delay plus one period (5 + 2 + 1 minutes by
 * default) and arrives in bursts. A window that reaches "now" holds only part of its samples, and `rate()` over it
 * reads low (over 5 minutes, about half the truth): windows over bridge data end this far back.
 */
export const BRIDGE_DATA_OFFSET = '10m';
/** Fifteen one-minute samples per rate: steady, and still quick to follow a change. */
export const BRIDGE_RATE_WINDOW = '15m';

/** Per-second rate of a bridge counter over the last complete 15 minutes. */
export function bridgeRate(selector: string, window = BRIDGE_RATE_WINDOW): string {
  return `rate(${selector}[${window}] offset ${BRIDGE_DATA_OFFSET})`;
}

/** Increase of a bridge counter over `window`, ending where the data is complete. */
export function bridgeIncrease(selector: string, window: string): string {
  return `increase(${selector}[${window}] offset ${BRIDGE_DATA_OFFSET})`;
}

/** The newest sample of a bridge gauge: the instant-query lookback (5 minutes) is shorter than the bridge's lag. */
export function bridgeLatest(selector: string): string {
  return `last_over_time(${selector}[${BRIDGE_RATE_WINDOW}])`;
}

/** Every query filters on these variables, so one dashboard serves every account, region and endpoint. */
const SCOPE = 'account_id=~"$account_id", region=~"$region"';
const ENDPOINT = `${SCOPE}, endpoint_name=~"$endpoint_name"`;

function query(expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).datasource(DS);
}

function timeseries(title: string, unit: string, queries: DataqueryBuilder[], description?: string): TimeseriesPanel {
  const panel = new TimeseriesPanel().title(title).unit(unit).datasource(DS).lineWidth(1).fillOpacity(10);
  if (description) panel.description(description);
  for (const q of queries) panel.withTarget(q);
  return panel;
}

function variable(name: string, label: string, metric: string, scope: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query(`label_values(${metric}{${scope}}, ${name})`)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .refresh(VariableRefresh.OnTimeRangeChanged);
}

function base(uid: string, title: string, anchorMetric: string, withEndpoint: boolean): DashboardBuilder {
  const dashboard = new DashboardBuilder(title)
    .uid(uid)
    .tags(['inferwatch'])
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus').current({ text: 'Amazon Managed Prometheus (inferwatch)', value: DATASOURCE_UID }))
    .withVariable(variable('account_id', 'Account', anchorMetric, ''))
    .withVariable(variable('region', 'Region', anchorMetric, 'account_id=~"$account_id"'));
  if (withEndpoint) dashboard.withVariable(variable('endpoint_name', 'Endpoint', anchorMetric, SCOPE));
  return dashboard;
}

/** SageMaker endpoints: traffic, errors, latency, capacity. Bridge data trails real time: rates end 10 minutes back (BRIDGE_DATA_OFFSET). */
export function sagemakerDashboard(): Dashboard {
  return base('inferwatch-sagemaker', 'inferwatch / SageMaker endpoints', 'aws_sagemaker_invocations_total', true)
    .withRow(new RowBuilder('Traffic and errors'))
    .withPanel(
      timeseries('Invocations per second', 'reqps', [
        query(`sum by (endpoint_name, variant_name) (${bridgeRate(`aws_sagemaker_invocations_total{${ENDPOINT}}`)})`, '{{endpoint_name}} / {{variant_name}}'),
      ]),
    )
    .withPanel(
      timeseries('Error ratio', 'percentunit', [
        query(`sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_invocation_4xx_errors_total{${ENDPOINT}}`)}) / sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_invocations_total{${ENDPOINT}}`)})`, '4XX {{endpoint_name}}'),
        query(`sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_invocation_5xx_errors_total{${ENDPOINT}}`)}) / sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_invocations_total{${ENDPOINT}}`)})`, '5XX {{endpoint_name}}'),
        query(`sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_invocation_model_errors_total{${ENDPOINT}}`)}) / sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_invocations_total{${ENDPOINT}}`)})`, 'model {{endpoint_name}}'),
      ]),
    )
    .withPanel(
      new StatPanel()
        .title('Invocations in range')
        .unit('short')
        .datasource(DS)
        .withTarget(query(`sum by (endpoint_name) (${bridgeIncrease(`aws_sagemaker_invocations_total{${ENDPOINT}}`, '$__range')})`, '{{endpoint_name}}')),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeseries(
        'Model latency percentiles',
        's',
        ['0.5', '0.9', '0.99'].map((q) => query(`max by (endpoint_name, variant_name) (${bridgeLatest(`aws_sagemaker_model_latency_seconds{${ENDPOINT}, quantile="${q}"}`)})`, `p${Number(q) * 100} {{endpoint_name}} / {{variant_name}}`)),
      ),
    )
    .withPanel(
      timeseries('Mean model and overhead latency', 's', [
        query(`sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_model_latency_seconds_sum{${ENDPOINT}}`)}) / sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_model_latency_seconds_count{${ENDPOINT}}`)})`, 'model {{endpoint_name}}'),
        query(`sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_overhead_latency_seconds_sum{${ENDPOINT}}`)}) / sum by (endpoint_name) (${bridgeRate(`aws_sagemaker_overhead_latency_seconds_count{${ENDPOINT}}`)})`, 'overhead {{endpoint_name}}'),
      ]),
    )
    .withRow(new RowBuilder('Capacity'))
    .withPanel(
      timeseries(
        'CPU, memory and disk',
        'percentunit',
        [
          query(bridgeLatest(`aws_sagemaker_endpoint_cpu_utilization_ratio{${ENDPOINT}}`), 'CPU {{endpoint_name}} / {{variant_name}}'),
          query(bridgeLatest(`aws_sagemaker_endpoint_memory_utilization_ratio{${ENDPOINT}}`), 'memory {{endpoint_name}} / {{variant_name}}'),
          query(bridgeLatest(`aws_sagemaker_endpoint_disk_utilization_ratio{${ENDPOINT}}`), 'disk {{endpoint_name}} / {{variant_name}}'),
        ],
        'CPU is summed over cores: 2 means two cores busy.',
      ),
    )
    .withPanel(
      timeseries('Instances: current and desired', 'short', [query(`max by (endpoint_name, variant_name, state) (${bridgeLatest(`aws_sagemaker_variant_instances{${ENDPOINT}}`)})`, '{{endpoint_name}} / {{variant_name}} {{state}}')]),
    )
    .build();
}

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
  return base('inferwatch-neuron', 'inferwatch / Inferentia (Neuron)', 'neuroncore_utilization_ratio', false)
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

/** The bridge itself: lag, what CloudWatch bills, what the workspace accepted. */
export function bridgeDashboard(): Dashboard {
  return base('inferwatch-bridge', 'inferwatch / bridge', 'inferwatch_bridge_lag_seconds', false)
    .withPanel(timeseries('Lag behind real time', 's', [query(`max by (account_id, region) (${bridgeLatest(`inferwatch_bridge_lag_seconds{${SCOPE}}`)})`, '{{account_id}} {{region}}')]))
    .withPanel(
      timeseries(
        'GetMetricData cost per day (USD)',
        'currencyUSD',
        [query(`sum by (account_id, region) (increase(inferwatch_bridge_cloudwatch_metrics_requested_total{${SCOPE}}[1d])) / 1000 * 0.01`, '{{account_id}} {{region}}')],
        'Metrics requested in the last 24 h at $0.01 per 1,000 (us-east-1 list price).',
      ),
    )
    .withPanel(
      timeseries(
        'Samples written and rejected per hour',
        'short',
        [
          query(`sum by (account_id, region) (increase(inferwatch_bridge_samples_written_total{${SCOPE}}[1h]))`, 'written {{account_id}} {{region}}'),
          query(`sum by (reason) (increase(inferwatch_bridge_samples_rejected_total{${SCOPE}}[1h]))`, 'rejected: {{reason}}'),
        ],
        "The bridge's own counters get one sample per run, so windows span several runs.",
      ),
    )
    .withPanel(timeseries('CloudWatch revisions per hour', 'short', [query(`sum by (kind) (increase(inferwatch_bridge_revisions_total{${SCOPE}}[1h]))`, '{{kind}}')]))
    .withPanel(timeseries('Cycle duration', 's', [query(`max by (account_id, region, phase) (${bridgeLatest(`inferwatch_bridge_cycle_duration_seconds{${SCOPE}}`)})`, '{{phase}} {{account_id}} {{region}}')]))
    .withPanel(timeseries('Retries per hour', 'short', [query(`sum by (target) (increase(inferwatch_bridge_retries_total{${SCOPE}}[1h]))`, '{{target}}')]))
    .build();
}

export function allDashboards(): Dashboard[] {
  return [sagemakerDashboard(), neuronDashboard(), bridgeDashboard()];
}
