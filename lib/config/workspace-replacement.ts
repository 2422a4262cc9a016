/**
 * What makes CloudFormation replace the AMP workspace: its create-only properties (AWS::APS::Workspace `KmsKeyArn`).
 * A replacement leaves the old workspace's metrics behind (the workspace is retained) while bridges in other
 * accounts keep writing to the old id, so synth refuses one unless the config says it is meant.
 *
 * The monitoring stack outputs the fingerprint of what it deployed (`WorkspaceFingerprint`); the user records it in
 * `monitoring.workspaceFingerprint`, beside `monitoring.workspaceId`, as they do the id.
 */
export type WorkspaceEncryption = 'customer-managed' | 'aws-owned';

export const WORKSPACE_FINGERPRINT = /^kms=(customer-managed|aws-owned)$/;

export function workspaceFingerprint(customerManagedKey: boolean): string {
  return `kms=${customerManagedKey ? 'customer-managed' : 'aws-owned'}`;
}

const DESCRIBE: Record<WorkspaceEncryption, string> = { 'customer-managed': 'a customer-managed KMS key', 'aws-owned': 'an AWS-owned key' };

/**
 * Why this config would replace the deployed workspace, as a message for the key `monitoring.customerManagedKey`,
 * or undefined when it would not (or when nothing was recorded).
 */
export function workspaceReplacementProblem(recorded: string | undefined, customerManagedKey: boolean): string | undefined {
  // A malformed fingerprint is reported by the schema on its own key.
  if (recorded === undefined || !WORKSPACE_FINGERPRINT.test(recorded) || recorded === workspaceFingerprint(customerManagedKey)) return undefined;
  const deployed = recorded.slice('kms='.length) as WorkspaceEncryption;
  const wanted: WorkspaceEncryption = customerManagedKey ? 'customer-managed' : 'aws-owned';
  return (
    `is ${customerManagedKey}, but the deployed workspace was created with ${DESCRIBE[deployed]} (monitoring.workspaceFingerprint "${recorded}") ` +
    `and AMP cannot change that in place: this deploy would create a new workspace with ${DESCRIBE[wanted]}, leave the metrics in the retained old one, ` +
    'and leave bridges in other accounts writing to the old id; set monitoring.allowWorkspaceReplacement: true to do it on purpose'
  );
}
