import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * What a principal that queries or remote-writes an AMP workspace encrypted with a customer-managed key needs on that
 * key. AMP's "Encryption at rest" page: the workspace's data is not accessible to a service "unless they also have
 * access to use the AWS KMS key" (step 3, Amazon Managed Grafana as the example), and AMP uses the key with
 * `DescribeKey`, `GenerateDataKey` and `Decrypt`, through the AMP service (`kms:ViaService` = `aps.<region>.amazonaws.com`).
 * `CreateGrant` is the workspace creator's alone (CloudFormation's role, through the key policy's account statement).
 */
export const WORKSPACE_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] as const;

/** The AMP endpoint KMS sees as `kms:ViaService` for a workspace in `region`. */
export function ampViaService(region: string): string {
  return `aps.${region}.${Aws.URL_SUFFIX}`;
}

/**
 * The identity-policy statement that lets a principal use the workspace's key, only through AMP in the workspace's
 * region. `keyArn` is the key's ARN, or `arn:<partition>:kms:<region>:<account>:key/*` where the key is not known to
 * the stack (a workload that names the workspace by id): the ViaService condition still holds it to AMP.
 */
export function workspaceKeyStatement(keyArn: string, workspaceRegion: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'WorkspaceKeyThroughAmp',
    actions: [...WORKSPACE_KEY_ACTIONS],
    resources: [keyArn],
    conditions: { StringEquals: { 'kms:ViaService': ampViaService(workspaceRegion) } },
  });
}

/** Any key of the monitoring account and region: for stacks that know the workspace only by id. */
export function anyKeyIn(account: string, region: string): string {
  return `arn:${Aws.PARTITION}:kms:${region}:${account}:key/*`;
}
