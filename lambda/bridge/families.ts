import { Catalog, type FamilyInfo, type FamilyLookup } from './catalog/catalog';
import { METADATA_FAMILIES } from './sagemaker/metadata';
import { SELF_METRIC_FAMILIES } from './self-metrics';

const BRIDGE_FAMILIES: ReadonlyMap<string, FamilyInfo> = new Map([...SELF_METRIC_FAMILIES, ...METADATA_FAMILIES].map((f) => [f.family, f]));

/** Every family a cycle writes: the catalog's CloudWatch metrics, the endpoint metadata and the bridge's own. */
export function familyLookup(catalog: Pick<Catalog, 'familyOf'>): FamilyLookup {
  return (name) => BRIDGE_FAMILIES.get(name) ?? catalog.familyOf(name);
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
