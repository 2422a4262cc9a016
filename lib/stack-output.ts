import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * A stack output named exactly `name`, as the README and scripts (`aws cloudformation describe-stacks`) use it,
 * instead of the path-hashed logical id CDK gives an output inside a construct. Two of the same name in one
 * stack fail the synth, which is right: the name is the contract.
 */
export function stackOutput(scope: Construct, name: string, value: string, description: string): CfnOutput {
  const output = new CfnOutput(scope, name, { value, description });
  output.overrideLogicalId(name);
  return output;
}
