import type { Catalog } from '../catalog/catalog';
import type { BridgeConfig } from '../../../contract/bridge-config';
import { finish } from './finish';
import { plan } from './plan';
import { recover } from './recover';
import { nothingToDo, report } from './report';
import { claim, start } from './start';
import { stream } from './stream';
import type { CycleDeps, CycleOptions, CycleReport } from './types';

export { capByBudget } from './plan';
export type { CycleDeps, CycleOptions, CycleReport } from './types';

/**
 * One bridge cycle, stage by stage; each stage is a file of this folder.
 *
 * 1. start: load the state (or reset it), replay a killed cycle's journal;
 * 2. plan: the window, what every source discovers and plans to read, the sample budget;
 * 3. recover: without state, take each series up where the receiver has it;
 * 4. claim: the journal lease (a conditional write), so overlapping cycles never both write;
 * 5. stream: every source's reads, page by page: translate, batch, journal, send;
 * 6. finish: carry unread series, the sources' snapshots (metadata), self-metrics, commit;
 * 7. report.
 */
export async function runCycle(config: BridgeConfig, catalog: Catalog, deps: CycleDeps, options: CycleOptions = {}): Promise<CycleReport> {
  const cycle = await start(config, catalog, deps, options);
  const planned = await plan(cycle);
  if (!planned) return nothingToDo(cycle);
  const recovered = await recover(cycle, planned);
  const claimed = await claim(cycle, planned);
  const streamed = await stream(cycle, planned, claimed, recovered);
  const finished = await finish(cycle, planned, claimed, streamed);
  return report(cycle, planned, streamed, finished);
}
