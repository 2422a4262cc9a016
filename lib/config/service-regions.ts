import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const ServiceOffer = z.object({ name: z.string().min(1), regions: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/)).min(1) }).strict();
const ServiceRegions = z.object({ amp: ServiceOffer, amg: ServiceOffer }).strict();
export type ServiceRegions = z.output<typeof ServiceRegions>;

/** The service-region data beside this file; a malformed file is a bug in the package, so it throws whole. */
export function loadServiceRegions(path = join(__dirname, 'service-regions.yaml')): ServiceRegions {
  return ServiceRegions.parse(parseYaml(readFileSync(path, 'utf8')));
}

/** The partition a region belongs to, as IAM ARNs spell it. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/**
 * Why the monitoring stack cannot deploy in `region`, in one line naming the service and the key, or undefined when it
 * can. AMP is always needed; AMG only with `grafana` (monitoring.grafana.enabled).
 */
export function monitoringRegionProblem(region: string, grafana: boolean, offers: ServiceRegions = loadServiceRegions()): string | undefined {
  const where = `monitoring.region "${region}" (partition ${partitionOf(region)})`;
  if (!offers.amp.regions.includes(region)) {
    return `config key "monitoring.region": ${offers.amp.name} is not offered in ${where}; choose a region where it is (lib/config/service-regions.yaml lists them)`;
  }
  if (grafana && !offers.amg.regions.includes(region)) {
    return `config key "monitoring.grafana.enabled": ${offers.amg.name} is not offered in ${where}; set monitoring.grafana.enabled: false to deploy without it, or choose a region where it is`;
  }
  return undefined;
}

/** A bridge or collector signs into the monitoring account's workspace with IAM, which never spans partitions. */
export function workloadPartitionProblem(key: string, region: string, monitoringRegion: string): string | undefined {
  const partition = partitionOf(region);
  const monitoringPartition = partitionOf(monitoringRegion);
  if (partition === monitoringPartition) return undefined;
  return `config key "${key}": "${region}" is in partition ${partition}, the monitoring region "${monitoringRegion}" in ${monitoringPartition}; a workload writes to the workspace with IAM credentials, which do not cross partitions`;
}
