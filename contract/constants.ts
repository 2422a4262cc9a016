/**
 * Numbers and names that synth (`lib/`), the Lambdas (`lambda/`) and the command (`cli/`) must agree on, written
 * once: a copy on each side would drift apart without a test noticing.
 */

/** Series one inf1.xlarge (4 NeuronCores) sends through the collector after relabelling: 39 in the captured exporter output, rounded up. */
export const SERIES_PER_NEURON_HOST = 40;

/** CloudWatch GetMetricData list price in us-east-1: USD per 1,000 metrics requested (each query of each call counts once). */
export const GET_METRIC_DATA_USD_PER_1000_METRICS = 0.01;

/** The uid of the AMP data source the Grafana provisioner creates, which every dashboard panel queries. */
export const DATASOURCE_UID = 'inferwatch-amp';

/**
 * Minutes between bridge runs, at most: the lag alarm watches a period of twice the schedule, and CloudWatch
 * alarms evaluate at most one day.
 */
export const MAX_SCHEDULE_MINUTES = 720;

/**
 * The Amazon Managed Service for Prometheus data source plugin. Grafana 13 migrates core `prometheus` data sources that
 * use SigV4 to it, so provisioning it directly means an upgrade changes nothing.
 */
export const DATASOURCE_TYPE = 'grafana-amazonprometheus-datasource';
