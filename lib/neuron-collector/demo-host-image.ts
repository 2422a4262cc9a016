import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** The instance types the demo host may be: Inferentia 1 and 2, Trainium 1. */
export const DEMO_HOST_INSTANCE_TYPES = ['inf1.xlarge', 'inf1.2xlarge', 'inf1.6xlarge', 'inf2.xlarge', 'inf2.8xlarge', 'trn1.2xlarge'] as const;
export type DemoHostInstanceType = (typeof DEMO_HOST_INSTANCE_TYPES)[number];

/** Neuron Base DLAMI (Ubuntu 24.04): the Neuron driver and tools (neuron-monitor) for Inf2 and Trn1. No longer Inf1. */
export const NEURON_BASE_DLAMI_PARAMETER = '/aws/service/neuron/dlami/base/ubuntu-24.04/latest/image_id';

/**
 * The last DLAMI whose Neuron driver still runs Inf1. Neuron DLAMIs from SDK 2.26.1 on no longer support Inf1, and
 * AWS publishes SSM parameters only for the latest DLAMI of each kind, so no parameter points at it: the Neuron docs
 * find a given SDK version's DLAMI with describe-images by name and by the SDK version in its description.
 */
export const INF1_DLAMI_LOOKUP = {
  name: 'Deep Learning Base Neuron AMI (Ubuntu 22.04) *',
  owners: ['amazon'],
  filters: { description: ['*Neuron SDK 2.26.0*'], architecture: ['x86_64'] },
} as const;

/** An image whose Neuron driver supports the instance type. The Inf1 image is looked up at synth (cached in cdk.context.json). */
export function demoHostImage(instanceType: DemoHostInstanceType): ec2.IMachineImage {
  if (instanceType.startsWith('inf1.')) {
    return ec2.MachineImage.lookup({ name: INF1_DLAMI_LOOKUP.name, owners: [...INF1_DLAMI_LOOKUP.owners], filters: { description: [...INF1_DLAMI_LOOKUP.filters.description], architecture: [...INF1_DLAMI_LOOKUP.filters.architecture] } });
  }
  return ec2.MachineImage.fromSsmParameter(NEURON_BASE_DLAMI_PARAMETER);
}
