import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { chartPanelsHash, demoCharts, IMAGES_RECORD, type ImagesRecord } from '../../demo/demo-charts';
import { REPO_ROOT } from '../support/harness/run-bridge';

const IMG = join(REPO_ROOT, 'docs', 'img');

describe('the committed images in docs/img/', () => {
  test('were drawn from the dashboards as they are now (else: npm run docs:images)', () => {
    const record = JSON.parse(readFileSync(join(IMG, IMAGES_RECORD), 'utf8')) as ImagesRecord;
    expect({ panelsSha256: record.panelsSha256, refreshWith: record.refreshWith }).toEqual({ panelsSha256: chartPanelsHash(allDashboards()), refreshWith: 'npm run docs:images' });
  });

  test('are exactly the demo\'s charts', () => {
    expect(readdirSync(IMG).filter((f) => f.endsWith('.png')).sort()).toEqual(demoCharts().map((c) => c.file).sort());
  });

  test('the hash follows a panel\'s query, legend, unit and the chart list', () => {
    const dashboards = allDashboards();
    const base = chartPanelsHash(dashboards);
    const changed = (edit: (panel: { targets?: Array<{ expr?: string; legendFormat?: string }>; fieldConfig?: { defaults?: { unit?: string } } }) => void) => {
      const copy = allDashboards();
      const panel = copy.find((d) => d.uid === 'inferwatch-fleet')?.panels?.find((p) => (p as { title?: string }).title === 'p99 model latency per endpoint');
      edit(panel as never);
      return chartPanelsHash(copy);
    };
    expect(changed(() => undefined)).toBe(base);
    expect(changed((p) => ((p.targets?.[0] as { expr?: string }).expr += ' * 2'))).not.toBe(base);
    expect(changed((p) => ((p.targets?.[0] as { legendFormat?: string }).legendFormat = 'x'))).not.toBe(base);
    expect(changed((p) => (p.fieldConfig = { defaults: { unit: 'ms' } }))).not.toBe(base);
    expect(chartPanelsHash(dashboards, demoCharts().slice(1))).not.toBe(base);
  });
});
