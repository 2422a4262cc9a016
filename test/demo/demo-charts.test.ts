import { Resvg } from '@resvg/resvg-js';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { DEMO_CHARTS, demoCharts, interpolate, legendOf, panelsOf, pngProblems, renderPng } from '../../demo/demo-charts';

const MINUTE = 60_000;

describe('the demo draws panels to PNG', () => {
  const start = Date.UTC(2026, 0, 1, 12, 0);
  const wave = Array.from({ length: 45 }, (_, i) => [start + i * MINUTE, 1 + Math.sin(i / 4)] as [number, number]);

  test('a drawn panel passes the checks; a blank image, a flat one and a non-PNG fail them', () => {
    expect(pngProblems(renderPng('Requests per second', 'inferwatch / Fleet overview', 'reqps', [{ name: 'churn-predictor', values: wave }], start, start + 45 * MINUTE))).toEqual([]);
    const blank = new Resvg('<svg xmlns="http://www.w3.org/2000/svg" width="900" height="340"><rect width="900" height="340" fill="#fff"/></svg>').render().asPng();
    expect(pngProblems(blank)).toEqual(['only 1 colours: blank', 'only 0 of 306000 pixels drawn on', 'only 0 coloured pixels: no line drawn']);
    // Axes and title but no line: what a panel whose queries found nothing would look like.
    expect(pngProblems(renderPng('Requests per second', 'inferwatch / Fleet overview', 'reqps', [{ name: 'none', values: [] }], start, start + 45 * MINUTE))).toEqual([expect.stringMatching(/pixels drawn on$/), expect.stringMatching(/^only \d+ coloured pixels: no line drawn$/)]);
    expect(pngProblems(Buffer.from('not a png'))[0]).toMatch(/^not a PNG/);
  });

  test('legends follow Grafana: {{label}} is the label value, nothing when the series has none', () => {
    expect(legendOf('{{endpoint_name}}{{inference_component_name}} p99', { endpoint_name: 'ranker' })).toBe('ranker p99');
    expect(legendOf(undefined, { a: 'b' })).toBe('{"a":"b"}');
  });

  test('queries are sent with "All" or the chosen value in each variable; a variable the dashboard lacks is an error', () => {
    const dashboard = { templating: { list: [{ name: 'account_id' }, { name: 'endpoint_name' }] } };
    expect(interpolate('x{account_id=~"$account_id", endpoint_name=~"$endpoint_name"}[$__rate_interval]', dashboard, { account_id: '1' })).toBe('x{account_id=~"1", endpoint_name=~".*"}[5m]');
    expect(() => interpolate('x{model=~"$model_name"}', dashboard)).toThrow('uses $model_name, which the dashboard does not define');
  });

  test('every chart is drawn; one whose series the PromQL source does not write is an error naming them, never left out', () => {
    const ttft = DEMO_CHARTS.find((c) => c.file === 'llm-ttft.png');
    expect(ttft?.needs).toEqual(['sagemaker_llm_time_to_first_token_seconds']);
    expect(demoCharts().map((c) => c.file)).toEqual(DEMO_CHARTS.map((c) => c.file));
    expect(demoCharts().map((c) => c.file)).toEqual(expect.arrayContaining(['llm-ttft.png', 'llm-inter-token-latency.png', 'llm-gpu-utilisation.png']));
    const all = new Set(DEMO_CHARTS.flatMap((c) => c.needs ?? []));
    all.delete('sagemaker_llm_time_to_first_token_seconds');
    expect(() => demoCharts(all)).toThrow('llm-ttft.png needs sagemaker_llm_time_to_first_token_seconds');
  });

  test('every chart names a panel that exists', () => {
    const panels = panelsOf(allDashboards());
    for (const chart of DEMO_CHARTS) expect({ chart, found: panels.some((p) => p.dashboard.uid === chart.dashboard && p.panel.title === chart.panel) }).toEqual({ chart, found: true });
  });
});
