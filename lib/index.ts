/**
 * inferwatch as a CDK library: add the constructs to your own app instead of forking this one.
 * `import { CloudWatchBridge, PrometheusWorkspace } from 'inferwatch'`.
 */
export { AlertTopic, type AlertPublisher, type AlertTopicProps } from './alert-topic';
export { CloudWatchBridge, type CloudWatchBridgeProps } from './cloudwatch-bridge';
export { MAX_SCHEDULE_MINUTES } from '../contract/constants';
export { GRAFANA_VERSION, GrafanaWorkspace, type GrafanaSamlProps, type GrafanaWorkspaceProps } from './grafana-workspace';
export {
  allDashboards,
  asyncEndpointsDashboard,
  bridgeDashboard,
  endpointDetailDashboard,
  fleetOverviewDashboard,
  inferenceComponentsDashboard,
  multiModelDashboard,
  neuronDashboard,
  serverlessDashboard,
} from './grafana-workspace/dashboards';
export { buildInferwatch, type InferwatchStacks } from './inferwatch-app';
export { MonitoringStack, type MonitoringStackProps } from './monitoring-stack';
export { NeuronCollector, type NeuronCollectorProps } from './neuron-collector';
export { DEMO_HOST_INSTANCE_TYPES, NEURON_BASE_DLAMI_PARAMETER, type DemoHostInstanceType } from './neuron-collector/demo-host-image';
export { ampRemoteWriteUrl, DEFAULT_RULE_FILES, mergeRuleFiles, PrometheusWorkspace, type PrometheusWorkspaceProps, type SeriesLimit } from './prometheus-workspace';
export { ALERTS_TEMPLATE, type AlertOverride, type Severity, type WorkloadAlerts } from './prometheus-workspace/alert-rules';
export { DEFAULT_SOURCE_TIMINGS, slowestTimings, sourceTimings, type SeriesSource, type SourceTiming, type SourceTimings, type WorkloadReads } from './prometheus-workspace/series-sources';
export { WorkloadStack, type WorkloadStackProps } from './workload-stack';
export { DEFAULT_WRITER_ROLE_NAME, writerRoleArn, writerRoleName } from './writer-role';
export { loadInferwatchConfig, parseInferwatchConfig, workloadTimings, type InferwatchConfig, type WorkloadConfig } from './config/inferwatch-config';
export { accountSeriesLimits, expectedSeries, type FleetSize } from './config/series-limits';
export { type BridgeConfigInput } from '../contract/bridge-config';
export { ConfigError } from '../contract/errors';
