import { DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, VariableRefresh } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
// Dashboards default to the data source the provisioner creates.
import { DATASOURCE_TYPE, DATASOURCE_UID } from '../../../contract/constants';

export const DS = { type: DATASOURCE_TYPE, uid: '${datasource}' };

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
export const SCOPE = 'account_id=~"$account_id", region=~"$region"';
export const ENDPOINT = `${SCOPE}, endpoint_name=~"$endpoint_name"`;
/**
 * With enhanced metrics CloudWatch publishes per-instance series (`instance_id`) beside the per-variant ones: sums
 * over a variant, an endpoint or the fleet keep to the per-variant series, or they count every request twice.
 */
export const PER_VARIANT = 'instance_id="", availability_zone=""';

const by = (labels: readonly string[]) => (labels.length === 0 ? '' : ` by (${labels.join(', ')})`);

/** `sum by (...)` of the per-second rate of a bridge counter. */
export function sumRate(metric: string, matchers: string, labels: readonly string[]): string {
  return `sum${by(labels)} (${bridgeRate(`${metric}{${matchers}}`)})`;
}

/** One counter's rate over another's, grouped alike: error ratios, mean latencies from `_sum` / `_count`. */
export function rateRatio(numerator: string, denominator: string, matchers: string, labels: readonly string[]): string {
  return `${sumRate(numerator, matchers, labels)} / ${sumRate(denominator, matchers, labels)}`;
}

/** Mean of a summary or histogram family over the rate window: `_sum` over `_count`. */
export function meanLatency(family: string, matchers: string, labels: readonly string[]): string {
  return rateRatio(`${family}_sum`, `${family}_count`, matchers, labels);
}

/** The newest sample of a bridge gauge, reduced over everything but `labels`. */
export function latest(reduce: 'max' | 'min' | 'sum' | 'avg', metric: string, matchers: string, labels: readonly string[]): string {
  return `${reduce}${by(labels)} (${bridgeLatest(`${metric}{${matchers}}`)})`;
}

/**
 * The `q` quantile of a latency family, per `labels` (none: the whole selection). Where the bridge writes the family
 * as a histogram (`latency: histogram | both`) it is `histogram_quantile` over the summed buckets, which pools
 * variants, endpoints and accounts correctly. Where it writes summaries, `or` falls back to the largest of the
 * group's own quantiles: an upper bound, since quantiles cannot be added up. A fleet of both modes gets the histogram
 * wherever a group has one.
 */
export function latencyQuantile(family: string, q: number, matchers: string, labels: readonly string[]): string {
  const histogram = `histogram_quantile(${q}, sum by (${['le', ...labels].join(', ')}) (${bridgeRate(`${family}_bucket{${matchers}}`)}))`;
  return `${histogram} or ${latest('max', family, `${matchers}, quantile="${q}"`, labels)}`;
}

export function query(expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).datasource(DS);
}

export function timeseries(title: string, unit: string, queries: DataqueryBuilder[], description?: string): TimeseriesPanel {
  const panel = new TimeseriesPanel().title(title).unit(unit).datasource(DS).lineWidth(1).fillOpacity(10);
  if (description) panel.description(description);
  for (const q of queries) panel.withTarget(q);
  return panel;
}

export function stat(title: string, unit: string, q: DataqueryBuilder, description?: string): StatPanel {
  const panel = new StatPanel().title(title).unit(unit).datasource(DS).withTarget(q);
  if (description) panel.description(description);
  return panel;
}

/**
 * A variable listing `name`'s values on `metric`. `allIsAnything`: "All" matches every value, those without the
 * label too (account and region); otherwise "All" is the listed values, so a dashboard of one endpoint shape keeps
 * to the endpoints of that shape.
 */
export function variable(name: string, label: string, metric: string, scope: string, allIsAnything = true): QueryVariableBuilder {
  const builder = new QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query(`label_values(${metric}{${scope}}, ${name})`)
    .multi(true)
    .includeAll(true)
    .refresh(VariableRefresh.OnTimeRangeChanged);
  return allIsAnything ? builder.allValue('.*') : builder;
}

/**
 * Data source, account and region variables on `anchorMetric`, and an endpoint variable on it too unless `endpoints`
 * is `none`: `any` lets "All" match every series (the endpoint dashboard), `listed` keeps "All" to the endpoints
 * `anchorMetric` lists (a dashboard of one endpoint shape).
 */
export function base(uid: string, title: string, anchorMetric: string, endpoints: 'none' | 'any' | 'listed'): DashboardBuilder {
  const dashboard = new DashboardBuilder(title)
    .uid(uid)
    .tags(['inferwatch'])
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type(DATASOURCE_TYPE).current({ text: 'Amazon Managed Prometheus (inferwatch)', value: DATASOURCE_UID }))
    .withVariable(variable('account_id', 'Account', anchorMetric, ''))
    .withVariable(variable('region', 'Region', anchorMetric, 'account_id=~"$account_id"'));
  if (endpoints !== 'none') dashboard.withVariable(variable('endpoint_name', 'Endpoint', anchorMetric, SCOPE, endpoints === 'any'));
  return dashboard;
}
