/** The AWS SDK's own opt-out of its Node version notice (@aws-sdk/core, emitWarningIfUnsupportedVersion). */
export const SDK_NOTICE_OPT_OUT = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
/** The oldest Node the AWS SDK for JavaScript v3 supports in its releases after the first week of January 2027. */
export const SDK_NODE_MAJOR = 22;

/** Commands that call AWS, so that the SDK would print its notice: `cost` only with --discover. */
function callsAws(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const command = args.find((arg) => !arg.startsWith('-'));
  return command === 'bridge' || command === 'doctor' || (command === 'cost' && args.includes('--discover'));
}

/**
 * inferwatch keeps Node 20: the SDK's 8-line warning on every AWS command becomes one line of ours, and none once the
 * user has set the SDK's opt-out. Sets the opt-out in `env` (the SDK reads process.env when the first client sends).
 * Returns the line to print, if any.
 */
export function nodeSupportNotice(nodeVersion: string, env: NodeJS.ProcessEnv, argv: readonly string[]): string | undefined {
  const major = Number(/^v?(\d+)/.exec(nodeVersion)?.[1]);
  if (!(major < SDK_NODE_MAJOR) || env[SDK_NOTICE_OPT_OUT] === 'true') return undefined;
  env[SDK_NOTICE_OPT_OUT] = 'true';
  if (!callsAws(argv)) return undefined;
  return `inferwatch: note: Node ${nodeVersion} works, but AWS SDK releases after the first week of January 2027 need Node ${SDK_NODE_MAJOR} or later; upgrade Node, or set ${SDK_NOTICE_OPT_OUT}=true to hide this line`;
}
