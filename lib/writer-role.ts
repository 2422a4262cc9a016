import { Aws } from 'aws-cdk-lib';

/** The monitoring account's remote-writer role, as named when no stack prefix says otherwise. */
export const DEFAULT_WRITER_ROLE_NAME = 'inferwatch-remote-writer';
/** The IAM path of the bridge and collector roles; the writer role trusts only roles under it. */
export const DEFAULT_ROLE_PATH = '/inferwatch/';

/** One name per install, so that a second install with another `stackPrefix` does not collide. */
export function writerRoleName(stackPrefix: string): string {
  return `${stackPrefix.toLowerCase()}-remote-writer`;
}

/** Each install's workload roles live under their own path, so one install's writer role never trusts another's roles. */
export function rolePath(stackPrefix: string): string {
  return `/${stackPrefix.toLowerCase()}/`;
}

/** In the partition of the stack that uses it (aws, aws-cn, aws-us-gov): a workload and its monitoring account share one. */
export function writerRoleArn(monitoringAccount: string, roleName = DEFAULT_WRITER_ROLE_NAME): string {
  return `arn:${Aws.PARTITION}:iam::${monitoringAccount}:role/${roleName}`;
}

/** `aws:PrincipalArn` of any role under `path` in `account`: for a role session, IAM puts the role's ARN (path included) there. */
export function rolePathPattern(account: string, path = DEFAULT_ROLE_PATH): string {
  return `arn:${Aws.PARTITION}:iam::${account}:role${path}*`;
}
