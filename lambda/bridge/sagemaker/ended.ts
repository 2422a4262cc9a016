import type { Dimension } from '@aws-sdk/client-cloudwatch';
import { componentEndedKey } from './metadata';

/** Deleted endpoints (`name`), variants (`name/variant`) and inference components -> when the bridge saw them go. */
export type EndedResources = Readonly<Record<string, number>>;

/** Whether a CloudWatch metric with these dimensions belongs to an endpoint, variant or inference component that ended. */
export function isEnded(ended: EndedResources, dimensions: readonly Dimension[]): boolean {
  if (Object.keys(ended).length === 0) return false;
  const endpoint = dimensions.find((d) => d.Name === 'EndpointName')?.Value;
  const variant = dimensions.find((d) => d.Name === 'VariantName')?.Value;
  const component = dimensions.find((d) => d.Name === 'InferenceComponentName')?.Value;
  if (component !== undefined && ended[componentEndedKey(component)] !== undefined) return true;
  return endpoint !== undefined && (ended[endpoint] !== undefined || (variant !== undefined && ended[`${endpoint}/${variant}`] !== undefined));
}
