import { Catalog, type FamilyInfo, type FamilyLookup } from './catalog/catalog';
import { METADATA_FAMILIES } from './sagemaker/metadata';
import { SELF_METRIC_FAMILIES } from './self-metrics';

const BRIDGE_FAMILIES: ReadonlyMap<string, FamilyInfo> = new Map([...SELF_METRIC_FAMILIES, ...METADATA_FAMILIES].map((f) => [f.family, f]));

/**
 * Every family a cycle writes: the catalog's CloudWatch metrics, the endpoint metadata, the bridge's own, and those
 * sources describe themselves (`described`: the PromQL mapping's), a histogram's `_bucket`, `_sum` and `_count` in it.
 */
export function familyLookup(catalog: Pick<Catalog, 'familyOf'>, described: readonly FamilyInfo[] = []): FamilyLookup {
  const bySeries = new Map<string, FamilyInfo>();
  for (const f of described) {
    bySeries.set(f.family, f);
    if (f.type === 'histogram' || f.type === 'summary') for (const suffix of ['_sum', '_count', ...(f.type === 'histogram' ? ['_bucket'] : [])]) bySeries.set(`${f.family}${suffix}`, f);
  }
  return (name) => BRIDGE_FAMILIES.get(name) ?? bySeries.get(name) ?? catalog.familyOf(name);
}

/** The families remote-write metadata announces: the catalog's and the bridge's own. */
export function allFamilies(catalog: Pick<Catalog, 'allFamilies'>): FamilyInfo[] {
  return [...catalog.allFamilies(), ...BRIDGE_FAMILIES.values()];
}

let builtIn: FamilyLookup | undefined;

/** The built-in catalog in the default profile: for writers not handed the cycle's own catalog. */
export function builtInFamilies(): FamilyLookup {
  builtIn ??= familyLookup(Catalog.withDefaults([], 'inferwatch', 'neuron_monitor'));
  return builtIn;
}
