/**
 * Resolves the CloudFormation intrinsics a synthesized template uses in policies and SSM documents, as CloudFormation
 * would at deploy: `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Base64`. An unknown reference throws instead of guessing.
 */
export interface Deployment {
  /** Pseudo parameters (`AWS::Partition`, `AWS::Region`, ...) and resources' Ref values, by logical id. */
  readonly refs: Readonly<Record<string, string>>;
  /** `<logicalId>.<attribute>` values. */
  readonly attributes?: Readonly<Record<string, string>>;
}

export function resolveIntrinsics(value: unknown, deployment: Deployment): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, deployment));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [name, argument] = entries[0] ?? [];
  if (entries.length === 1 && name === 'Ref') {
    const resolved = deployment.refs[argument as string];
    if (resolved === undefined) throw new Error(`resolveIntrinsics: no value for Ref ${String(argument)}`);
    return resolved;
  }
  if (entries.length === 1 && name === 'Fn::GetAtt') {
    const [id, attribute] = argument as [string, string];
    const resolved = deployment.attributes?.[`${id}.${attribute}`];
    if (resolved === undefined) throw new Error(`resolveIntrinsics: no value for Fn::GetAtt ${id}.${attribute}`);
    return resolved;
  }
  if (entries.length === 1 && name === 'Fn::Join') {
    const [separator, parts] = argument as [string, unknown[]];
    return parts.map((part) => resolveString(part, deployment)).join(separator);
  }
  if (entries.length === 1 && name === 'Fn::Base64') return Buffer.from(resolveString(argument, deployment), 'utf8').toString('base64');
  if (entries.length === 1 && name?.startsWith('Fn::')) throw new Error(`resolveIntrinsics: ${name} is not implemented`);
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveIntrinsics(item, deployment)]));
}

export function resolveString(value: unknown, deployment: Deployment): string {
  const resolved = resolveIntrinsics(value, deployment);
  if (typeof resolved !== 'string') throw new Error(`resolveIntrinsics: expected a string, got ${JSON.stringify(resolved)}`);
  return resolved;
}
