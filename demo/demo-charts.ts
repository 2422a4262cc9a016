/**
 * The dashboards' main panels drawn as PNG from a Prometheus, with no browser and no Grafana: each panel's own
 * queries (as the dashboard builds them), run as Grafana would with "All" selected, drawn with Apache ECharts'
 * server-side SVG renderer and rasterised by resvg with a bundled DejaVu font, so the images look the same on every
 * machine. `npm run demo` writes them to demo/out/ (ignored by git); `npm run docs:images` to docs/img/, which the
 * README shows, with the hash of the panels that drew them (`chartPanelsHash`) beside them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';
import { PNG } from 'pngjs';
import { loadPromQlMapping } from '../lambda/bridge/sources/promql/mapping';
import type { LocalPrometheus, PromSeries } from '../test/support/harness/prometheus';

/** What the charts and the query test read of a panel. */
export interface PanelView {
  readonly title?: string;
  readonly type: string;
  readonly targets?: ReadonlyArray<{ readonly expr?: string; readonly legendFormat?: string }>;
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
}

export interface DashboardPanel {
  readonly dashboard: Dashboard;
  readonly panel: PanelView;
}

/** Every panel of every dashboard with the dashboard it sits on (rows are not panels: they have no queries). */
export function panelsOf(dashboards: readonly Dashboard[]): DashboardPanel[] {
  return dashboards.flatMap((dashboard) => (dashboard.panels ?? []).map((panel) => ({ dashboard, panel: panel as PanelView })).filter(({ panel }) => panel.type !== 'row'));
}

/**
 * A panel query as Grafana sends it with "All" selected in every variable (the endpoint variables of the shape
 * dashboards send the listed values; `.*` is the same on the stand-in's data), or the value in `chosen`. A variable
 * the dashboard does not define is an error, not left for Prometheus to reject with a less useful message.
 */
export function interpolate(expr: string, dashboard: { readonly templating?: { readonly list?: ReadonlyArray<{ readonly name: string }> } }, chosen: Readonly<Record<string, string>> = {}): string {
  const variables = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
  return expr
    .replace(/\$__rate_interval/g, '5m')
    .replace(/\$__range/g, '1h')
    .replace(/\$(\w+)/g, (_, name: string) => {
      if (!variables.has(name)) throw new Error(`${expr}: uses $${name}, which the dashboard does not define`);
      return chosen[name] ?? '.*';
    });
}

/** A panel to draw, by dashboard uid and panel title, and the file it goes to. */
export interface ChartSpec {
  readonly dashboard: string;
  readonly panel: string;
  readonly file: string;
  /**
   * Series the bridge's PromQL source must write for the panel to have data (names of its metric mapping,
   * lambda/bridge/sources/promql/promql-metrics.yaml). A chart whose series the mapping does not write is an error,
   * never a chart left out. @default none
   */
  readonly needs?: readonly string[];
}

/** The main panels, in the order the README shows them. */
export const DEMO_CHARTS: readonly ChartSpec[] = [
  { dashboard: 'inferwatch-fleet', panel: 'Requests per second', file: 'fleet-requests.png' },
  { dashboard: 'inferwatch-fleet', panel: 'Error ratio by class', file: 'fleet-error-ratio.png' },
  { dashboard: 'inferwatch-fleet', panel: 'p99 model latency per endpoint', file: 'fleet-p99-latency.png' },
  { dashboard: 'inferwatch-neuron', panel: 'NeuronCore utilisation', file: 'neuroncore-utilisation.png' },
  { dashboard: 'inferwatch-async', panel: 'Backlog', file: 'async-backlog.png' },
  { dashboard: 'inferwatch-inference-components', panel: 'Normalised utilisation per component', file: 'component-utilisation.png' },
  { dashboard: 'inferwatch-multi-model', panel: 'Cache hit ratio', file: 'mme-cache-hits.png' },
  { dashboard: 'inferwatch-bridge', panel: 'Lag behind real time', file: 'bridge-lag.png' },
  { dashboard: 'inferwatch-bridge', panel: 'Metrics requested per hour', file: 'bridge-metrics-requested.png' },
  { dashboard: 'inferwatch-llm', panel: 'Time to first token, p50 and p99', file: 'llm-ttft.png', needs: ['sagemaker_llm_time_to_first_token_seconds'] },
  { dashboard: 'inferwatch-llm', panel: 'Inter-token latency, p50 and p99', file: 'llm-inter-token-latency.png', needs: ['sagemaker_llm_inter_token_latency_seconds'] },
  { dashboard: 'inferwatch-llm', panel: 'GPU utilisation', file: 'llm-gpu-utilisation.png', needs: ['sagemaker_gpu_utilization_ratio'] },
];

/** The Prometheus names the bridge's PromQL source writes, from its metric mapping. */
export function promqlSourceWrites(): Set<string> {
  return new Set(loadPromQlMapping().metrics.map((m) => m.name));
}

/** The charts the demo draws: all of them, once it is sure the PromQL source writes every series they need. */
export function demoCharts(written: ReadonlySet<string> = promqlSourceWrites()): ChartSpec[] {
  const unmet = DEMO_CHARTS.flatMap((chart) => (chart.needs ?? []).filter((name) => !written.has(name)).map((name) => `${chart.file} needs ${name}`));
  if (unmet.length > 0) throw new Error(`the PromQL source's mapping (lambda/bridge/sources/promql/promql-metrics.yaml) writes no series some demo charts draw: ${unmet.join(', ')}`);
  return [...DEMO_CHARTS];
}

const WIDTH = 900;
const HEIGHT = 340;
const LEGEND_FONT_PX = 11;
const FONT = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf');
/** DejaVu Sans' mean advance per character, in ems. */
const DEJAVU_EM_PER_CHAR = 0.6;

// Without a canvas ECharts guesses text widths for a narrower font, and legend entries run into each other: measure
// for the font resvg draws with.
echarts.setPlatformAPI({
  measureText: (text: string, font?: string) => ({ width: text.length * Number(/(\d+(?:\.\d+)?)px/.exec(font ?? '')?.[1] ?? 12) * DEJAVU_EM_PER_CHAR }),
});

/** Grafana's legend format: `{{label}}` is the series' value of the label, empty when it has none. */
export function legendOf(format: string | undefined, metric: Readonly<Record<string, string>>): string {
  const text = (format ?? '').replace(/\{\{\s*(\w+)\s*\}\}/g, (_, label: string) => metric[label] ?? '').trim();
  return text || JSON.stringify(metric);
}

/** Axis labels in the panel's Grafana unit. */
function formatterFor(unit: string | undefined): (value: number) => string {
  const plain = (v: number) => String(Number(v.toPrecision(3)));
  switch (unit) {
    case 'percentunit':
      return (v) => `${plain(v * 100)}%`;
    case 's':
      return (v) => (v !== 0 && Math.abs(v) < 1 ? `${plain(v * 1000)} ms` : `${plain(v)} s`);
    case 'reqps':
      return (v) => `${plain(v)} req/s`;
    case 'currencyUSD':
      return (v) => `$${plain(v)}`;
    default:
      return plain;
  }
}

/** The panel's queries over [start, end], one line per series; an error naming the query when none has data. */
export async function panelSeries(prometheus: LocalPrometheus, found: DashboardPanel, start: number, end: number, stepSeconds: number): Promise<Array<{ name: string; values: PromSeries['values'] }>> {
  const lines: Array<{ name: string; values: PromSeries['values'] }> = [];
  for (const target of found.panel.targets ?? []) {
    if (!target.expr) continue;
    for (const series of await prometheus.queryRange(interpolate(target.expr, found.dashboard), start, end, stepSeconds)) {
      lines.push({ name: legendOf(target.legendFormat, series.metric), values: series.values.filter(([, v]) => Number.isFinite(v)) });
    }
  }
  if (lines.every((l) => l.values.length === 0)) throw new Error(`${found.dashboard.title} / ${found.panel.title}: no data to draw`);
  return lines;
}

/** One panel as PNG over [start, end]: the title, the lines, the axis in the panel's unit, the legend below. */
export function renderPng(title: string, subtitle: string, unit: string | undefined, lines: ReadonlyArray<{ name: string; values: PromSeries['values'] }>, start: number, end: number): Buffer {
  // The plot keeps its height however many rows the legend takes below it.
  const legendWidth = lines.reduce((w, line) => w + line.name.length * LEGEND_FONT_PX * DEJAVU_EM_PER_CHAR + 36, 0);
  const legendRows = Math.max(1, Math.ceil(legendWidth / (WIDTH - 48)));
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height: HEIGHT + (legendRows - 1) * 18 });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'DejaVu Sans' },
    title: { text: title, subtext: subtitle, left: 12, top: 6, textStyle: { fontSize: 15 }, subtextStyle: { fontSize: 11 } },
    grid: { left: 80, right: 24, top: 62, bottom: 44 + legendRows * 18 },
    legend: { bottom: 6, left: 12, right: 12, type: 'plain', itemWidth: 18, itemHeight: 8, textStyle: { fontSize: LEGEND_FONT_PX } },
    xAxis: { type: 'time', min: start, max: end, axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', axisLabel: { formatter: formatterFor(unit) } },
    series: lines.map((line) => ({ type: 'line', name: line.name, showSymbol: false, lineStyle: { width: 2 }, data: line.values })),
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return new Resvg(svg, { font: { fontFiles: [FONT], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

/** What makes a PNG unfit for the README: undecodable, tiny, or a flat image with nothing drawn. */
export function pngProblems(png: Buffer): string[] {
  let image: PNG;
  try {
    image = PNG.sync.read(png);
  } catch (error) {
    return [`not a PNG: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  if (image.width < 600 || image.height < 200) problems.push(`${image.width}x${image.height} is too small to read`);
  const colours = new Set<number>();
  let inked = 0;
  let saturated = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    const [r, g, b] = [image.data[i] ?? 0, image.data[i + 1] ?? 0, image.data[i + 2] ?? 0];
    colours.add((r << 16) | (g << 8) | b);
    if (r + g + b < 600) inked++;
    // Lines are coloured; text, axes and grid are grey.
    if (Math.max(r, g, b) - Math.min(r, g, b) > 80) saturated++;
  }
  const pixels = image.width * image.height;
  if (colours.size < 16) problems.push(`only ${colours.size} colours: blank`);
  if (inked < pixels * 0.01) problems.push(`only ${inked} of ${pixels} pixels drawn on`);
  if (saturated < 200) problems.push(`only ${saturated} coloured pixels: no line drawn`);
  return problems;
}

/** Draws every chart of `specs` from `prometheus` over [start, end] into `dir`; returns the files written. */
export async function renderCharts(prometheus: LocalPrometheus, dashboards: readonly Dashboard[], dir: string, start: number, end: number, specs: readonly ChartSpec[] = demoCharts()): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const panels = panelsOf(dashboards);
  const written: string[] = [];
  for (const spec of specs) {
    const found = panels.find((p) => p.dashboard.uid === spec.dashboard && p.panel.title === spec.panel);
    if (!found) throw new Error(`no panel "${spec.panel}" on dashboard ${spec.dashboard}`);
    const lines = await panelSeries(prometheus, found, start, end, 30);
    const png = renderPng(found.panel.title ?? spec.panel, `${found.dashboard.title} (npm run demo, simulated traffic)`, found.panel.fieldConfig?.defaults?.unit, lines, start, end);
    const problems = pngProblems(png);
    if (problems.length > 0) throw new Error(`${spec.file}: ${problems.join('; ')}`);
    const file = join(dir, spec.file);
    writeFileSync(file, png);
    written.push(file);
  }
  return written;
}

/** Beside the committed images in docs/img/: the hash of the panel definitions that drew them. */
export const IMAGES_RECORD = 'panels.json';

export interface ImagesRecord {
  /** `chartPanelsHash` of the dashboards the images were drawn from. */
  readonly panelsSha256: string;
  readonly refreshWith: string;
}

/**
 * A content hash of what decides each committed image: the chart list and each drawn panel's title, type, unit and
 * queries. Git keeps no mtimes, so staleness is a changed hash, not an older file.
 */
export function chartPanelsHash(dashboards: readonly Dashboard[], specs: readonly ChartSpec[] = demoCharts()): string {
  const panels = panelsOf(dashboards);
  const drawn = specs.map((spec) => {
    const found = panels.find((p) => p.dashboard.uid === spec.dashboard && p.panel.title === spec.panel);
    if (!found) throw new Error(`no panel "${spec.panel}" on dashboard ${spec.dashboard}`);
    const { title, type, targets, fieldConfig } = found.panel;
    return { spec, title, type, unit: fieldConfig?.defaults?.unit, targets: (targets ?? []).map((t) => ({ expr: t.expr, legendFormat: t.legendFormat })) };
  });
  return createHash('sha256').update(JSON.stringify(drawn)).digest('hex');
}

export function imagesRecord(dashboards: readonly Dashboard[]): ImagesRecord {
  return { panelsSha256: chartPanelsHash(dashboards), refreshWith: 'npm run docs:images' };
}
