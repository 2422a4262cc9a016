import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_SCHEDULE_MINUTES } from '../contract/constants';
import { BRIDGE_KEYS_SET_BY_CONSTRUCT, resolveConfig, type BridgeConfigInput } from '../contract/bridge-config';
import { DEFAULT_BRIDGE_MEMORY_MIB } from '../contract/bridge-capacity';
import { ConfigError } from '../contract/errors';
import { BridgeConfigAsset } from './bridge-config-asset';
import { allowCloudWatchLogs } from './log-encryption';
import { lambdaCode } from './lambda-code';
import { DEFAULT_ROLE_PATH } from './writer-role';

/** Twice this is the lag alarm's period, and CloudWatch alarms evaluate at most one day. */
const LAMBDA_MAX_EVENT_AGE = Duration.hours(6);
const SCHEDULER_MAX_EVENT_AGE = Duration.hours(24);
const STATE_PREFIX = 'inferwatch/';
/**
 * How long S3 keeps a replaced state version and a deleted journal record. The bridge reads neither: a journal is
 * read only while the state names it (its records are then current), by the next run, and deleted once that run
 * commits. Old versions serve a person who restores an earlier state (a corrupt state is left untouched and fails
 * every run, so the Errors alarm calls someone): a restored state may name a journal, so the journal's versions live
 * as long as the state's, one rule for both. A week outlasts a weekend; an older state would rewind counters by more
 * than AMP accepts anyway (it rejects samples about an hour older than its head).
 */
const OLD_VERSION_DAYS = 7;
/** The dimension the handler adds to its EMF metrics (lambda/bridge/handler.ts SHARD_DIMENSION). */
const SHARD_DIMENSION = 'Shard';
const SAGEMAKER_DESCRIBE_RESOURCES = ['endpoint', 'endpoint-config'];
const INFERENCE_COMPONENT_RESOURCE = 'inference-component';

export interface CloudWatchBridgeProps {
  /** The AMP workspace id (`ws-…`): the bridge looks up its endpoint and status with DescribeWorkspace at start. */
  readonly workspaceId: string;
  /**
   * The workspace's region, where DescribeWorkspace is asked and the remote write is signed.
   * @default the stack's region
   */
  readonly workspaceRegion?: string;
  /**
   * The workspace ARN: the function may `aps:RemoteWrite` and `aps:DescribeWorkspace` on it and nothing else.
   * Leave out when writing through `writerRoleArn`.
   * @default none
   */
  readonly workspaceArn?: string;
  /**
   * A role in the monitoring account that may `aps:RemoteWrite` and `aps:DescribeWorkspace`, assumed for both (cross-account).
   * @default none: the function's own role writes
   */
  readonly writerRoleArn?: string;
  /**
   * Minutes between runs. GetMetricData bills per metric per run, so wider runs cost less at the same resolution.
   * @default 5
   */
  readonly scheduleMinutes?: number;
  /**
   * Split the fleet across this many schedules by a stable hash of the endpoint name; each shard keeps its own state.
   * @default 1
   */
  readonly shards?: number;
  /**
   * Bridge settings (period, settle, namespaces, neuronNamespace, catalog, namingProfile, ...), validated at synth.
   * `remoteWrite` (the workspace id and SigV4) and `state` are set by this construct.
   * @default the bridge's defaults
   */
  readonly bridgeConfig?: Record<string, unknown>;
  /**
   * Lambda memory, which also sets its CPU share (1,769 MB is one vCPU): the bridge is CPU-bound at scale.
   * @default DEFAULT_BRIDGE_MEMORY_MIB (1,024: see contract/bridge-capacity.ts)
   */
  readonly memoryMiB?: number;
  /**
   * Must be below the schedule interval so runs never overlap.
   * @default 4 minutes
   */
  readonly timeout?: Duration;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Key for the state bucket, the dead-letter queue and the log group.
   * @default AWS-managed encryption (S3-managed, SQS-managed)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Where the alarms notify.
   * @default no alarm actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * IAM path of the function's role. A cross-account writer role trusts only roles under its install's path.
   * @default "/inferwatch/"
   */
  readonly rolePath?: string;
  /**
   * Alarm when the data is older than this.
   * @default three schedule intervals plus the settle delay
   */
  readonly maxLag?: Duration;
  /**
   * Concurrent executions reserved for the function, at least `shards`: every shard's schedule fires at once. Set it
   * so that the account's other functions cannot take the bridge's concurrency. It is not set by default, for two
   * reasons. Lambda refuses a reservation that leaves the account less than its minimum unreserved concurrency (100,
   * or 10 in a new account whose whole quota is 10), so a default reservation would fail the deploy there. And it does
   * not handle a duplicate delivery of a shard's event: the cap is per function, not per shard, and a duplicate it
   * throttles is queued and retried, so the Throttles alarm fires (and the DeadLetters alarm, once the duplicate
   * outlives its event age). Without a reservation the duplicate runs, finds the state lease held, and commits nothing.
   * @default no reservation: the function draws on the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
}

/**
 * The bridge: a scheduled Lambda that forwards SageMaker and Neuron metrics from CloudWatch to AMP, with
 * durable state in S3 (conditional writes), a dead-letter queue, and alarms on errors, throttles and lag.
 */
/** Share of the function's memory given to V8's old space (the bridge streams; its heap is the per-series state). */
const HEAP_SHARE = 0.3;

/** The props' numbers, checked together: one line naming the prop for each problem. */
function checkProps(props: CloudWatchBridgeProps): { scheduleMinutes: number; shards: number; timeout: Duration } {
  const scheduleMinutes = props.scheduleMinutes ?? 5;
  const shards = props.shards ?? 1;
  const timeout = props.timeout ?? Duration.minutes(4);
  if ((props.workspaceArn === undefined) === (props.writerRoleArn === undefined)) {
    throw new Error('CloudWatchBridge: give exactly one of workspaceArn (same account) or writerRoleArn (cross-account)');
  }
  if (!Number.isInteger(scheduleMinutes) || scheduleMinutes < 1) throw new Error(`CloudWatchBridge: scheduleMinutes must be a whole number of minutes (got ${scheduleMinutes})`);
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`CloudWatchBridge: shards must be a whole number from 1 (got ${shards})`);
  if (scheduleMinutes > MAX_SCHEDULE_MINUTES) {
    throw new Error(`CloudWatchBridge: scheduleMinutes must be at most ${MAX_SCHEDULE_MINUTES} (got ${scheduleMinutes}): the lag alarm's period is twice the schedule, and CloudWatch alarms evaluate at most one day`);
  }
  if (props.reservedConcurrency !== undefined && (!Number.isInteger(props.reservedConcurrency) || props.reservedConcurrency < shards)) {
    throw new Error(
      `CloudWatchBridge: reservedConcurrency must be a whole number of at least shards (${shards}): every shard's schedule fires at the same time, and fewer would throttle some of them each run (got ${props.reservedConcurrency})`,
    );
  }
  if (timeout.toSeconds() >= scheduleMinutes * 60) throw new Error(`CloudWatchBridge: timeout (${timeout.toSeconds()}s) must be below the schedule interval (${scheduleMinutes * 60}s)`);
  return { scheduleMinutes, shards, timeout };
}

export class CloudWatchBridge extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  public readonly stateBucket: s3.Bucket;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly schedules: scheduler.Schedule[] = [];
  public readonly schedulerRole: iam.Role;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: CloudWatchBridgeProps) {
    super(scope, id);
    const { scheduleMinutes, shards, timeout } = checkProps(props);

    const userConfig = props.bridgeConfig ?? {};
    for (const key of BRIDGE_KEYS_SET_BY_CONSTRUCT) {
      if (key in userConfig) throw new ConfigError(`config key "bridge.config.${key}" is set by the CloudWatchBridge construct; leave it out`);
    }
    const { settle, endpointTags } = resolveConfig(userConfig as BridgeConfigInput, {});

    this.stateBucket = new s3.Bucket(this, 'State', {
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: props.encryptionKey !== undefined,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      // Every commit replaces the state object and deletes the run's journal records, leaving a noncurrent version and
      // a delete marker each time. Once the versions behind a marker have expired, the marker is all that is left
      // (an "expired" delete marker) and S3 removes it. The bridge never uploads in parts; the abort costs nothing.
      lifecycleRules: [
        {
          id: 'ExpireOldVersionsAndDeleteMarkers',
          noncurrentVersionExpiration: Duration.days(OLD_VERSION_DAYS),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: props.encryptionKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    if (props.encryptionKey) allowCloudWatchLogs(this, props.encryptionKey);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.role = this.createRole(props, endpointTags);
    const stack = Stack.of(this);
    // Only what CloudFormation resolves goes into the environment; the user's settings ship in the code asset.
    const configAsset = new BridgeConfigAsset(this, userConfig);
    const deployTimeConfig = {
      remoteWrite: {
        workspaceId: props.workspaceId,
        auth: { type: 'sigv4', ...(props.workspaceRegion ? { region: props.workspaceRegion } : {}), ...(props.writerRoleArn ? { roleArn: props.writerRoleArn } : {}) },
      },
      state: { type: 's3', bucket: this.stateBucket.bucketName, key: `${STATE_PREFIX}bridge-state.json` },
    };

    const memorySize = props.memoryMiB ?? DEFAULT_BRIDGE_MEMORY_MIB;
    const code = lambdaCode('bridge');
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'inferwatch bridge: CloudWatch SageMaker/Neuron metrics -> AMP remote write',
      ...(code.code ? configAsset.prebuiltCode(code) : code),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      // The next scheduled run re-reads the same window, so Lambda's own retries would only do the work twice.
      retryAttempts: 0,
      reservedConcurrentExecutions: props.reservedConcurrency,
      // A throttled event older than one interval is overtaken by the next run, which reads the same window: drop it
      // rather than run it hours late beside its successors.
      maxEventAge: maxEventAge(scheduleMinutes, LAMBDA_MAX_EVENT_AGE),
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        INFERWATCH_CONFIG: stack.toJsonString(deployTimeConfig),
        ...configAsset.environment(),
        // A heap well below the function's memory: V8 collects before it grows, and buffers and the runtime keep their room.
        NODE_OPTIONS: `--enable-source-maps --max-old-space-size=${Math.floor(memorySize * HEAP_SHARE)}`,
        POWERTOOLS_SERVICE_NAME: 'inferwatch-bridge',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        // Stack traces need file and line only: without the sources in it the map is 2.8 MiB instead of 7.5, and
        // --enable-source-maps reads and parses it at every cold start.
        sourcesContent: false,
        target: 'node24',
        // Bundle the SDK: the bridge relies on recent behaviour (S3 If-Match, CloudWatch's JSON protocol), not on whichever SDK the runtime ships.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The catalogs (CloudWatch's, PromQL's) and the config are data read at start-up; they ship beside the bundle.
          afterBundling: (inputDir, outputDir) => [
            `cp "${inputDir}/lambda/bridge/catalog/default-catalog.yaml" "${outputDir}/default-catalog.yaml"`,
            `cp "${inputDir}/lambda/bridge/sources/promql/promql-metrics.yaml" "${outputDir}/promql-metrics.yaml"`,
            configAsset.copyCommand(code.projectRoot as string, inputDir, outputDir),
          ],
        },
      },
    });

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'EventBridge Scheduler: invoke the inferwatch bridge',
    });
    for (let shard = 0; shard < shards; shard++) {
      this.schedules.push(
        new scheduler.Schedule(this, shards === 1 ? 'Schedule' : `Schedule${shard}`, {
          description: `inferwatch bridge, shard ${shard + 1} of ${shards}`,
          schedule: scheduler.ScheduleExpression.rate(Duration.minutes(scheduleMinutes)),
          target: new targets.LambdaInvoke(this.function, {
            input: scheduler.ScheduleTargetInput.fromObject({ shard, shards }),
            deadLetterQueue: this.deadLetterQueue,
            retryAttempts: 0,
            maxEventAge: maxEventAge(scheduleMinutes, SCHEDULER_MAX_EVENT_AGE),
            role: this.schedulerRole,
          }),
        }),
      );
    }

    this.createAlarms(props, scheduleMinutes, shards, settle);
    this.acknowledgeNagFindings(stack);
  }

  /** The function's role: no AWS-managed policy, every statement scoped as far as the API allows. */
  private createRole(props: CloudWatchBridgeProps, endpointTags: readonly string[]): iam.Role {
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'inferwatch bridge: CloudWatch/SageMaker read, AMP write',
      path: props.rolePath ?? DEFAULT_ROLE_PATH,
    });
    this.logGroup.grantWrite(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCloudWatchMetrics',
        actions: ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics'],
        resources: ['*'],
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListSageMakerEndpoints', actions: ['sagemaker:ListEndpoints', 'sagemaker:ListInferenceComponents'], resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeSageMakerEndpoints',
        actions: ['sagemaker:DescribeEndpoint', 'sagemaker:DescribeEndpointConfig'],
        // Pseudo-parameters rather than the stack's env, so the ARN (and its cdk-nag acknowledgement) is the same in every environment.
        resources: SAGEMAKER_DESCRIBE_RESOURCES.map((resource) => `arn:${Aws.PARTITION}:sagemaker:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}/*`),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeInferenceComponents',
        actions: ['sagemaker:DescribeInferenceComponent'],
        resources: [`arn:${Aws.PARTITION}:sagemaker:${Aws.REGION}:${Aws.ACCOUNT_ID}:${INFERENCE_COMPONENT_RESOURCE}/*`],
      }),
    );
    // Only with `endpointTags`: tags are read only then.
    if (endpointTags.length > 0) role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadEndpointTags', actions: ['tag:GetResources'], resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BridgeState',
        // DeleteObject: each committed cycle removes its journal records (the state's own key is only ever overwritten).
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [this.stateBucket.arnForObjects(`${STATE_PREFIX}*`)],
      }),
    );
    // Without ListBucket, S3 answers a missing key with 403 AccessDenied instead of 404 NoSuchKey, so a fresh deploy's
    // first run (no state yet) would fail, and every run after it; a journal is read until its first missing record,
    // the same 404. Not narrowed by s3:prefix: that key exists only on ListObjects requests, not on the GetObject whose
    // 404 this is for. The bucket holds nothing but this state and its journal.
    role.addToPolicy(new iam.PolicyStatement({ sid: 'BridgeStateExists', actions: ['s3:ListBucket'], resources: [this.stateBucket.bucketArn] }));
    props.encryptionKey?.grantEncryptDecrypt(role);
    if (props.workspaceArn) {
      // DescribeWorkspace turns the id into the endpoint at start; RemoteWrite is the data.
      // QueryMetrics: after a loss of state the bridge asks the workspace where each series stands, so nothing is counted twice.
      role.addToPolicy(new iam.PolicyStatement({ sid: 'RemoteWrite', actions: ['aps:DescribeWorkspace', 'aps:QueryMetrics', 'aps:RemoteWrite'], resources: [props.workspaceArn] }));
    } else {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'AssumeWriterRole', actions: ['sts:AssumeRole'], resources: [props.writerRoleArn as string] }));
    }

    return role;
  }

  /** Errors, throttles, dead letters, and each shard's lag. */
  private createAlarms(props: CloudWatchBridgeProps, scheduleMinutes: number, shards: number, settle: number): void {
    const period = Duration.minutes(scheduleMinutes);
    const maxLag = props.maxLag ?? Duration.seconds(3 * scheduleMinutes * 60 + settle);
    const alarm = (name: string, metric: cloudwatch.Metric, threshold: number, description: string, missing = cloudwatch.TreatMissingData.NOT_BREACHING) => {
      const created = metric.createAlarm(this, `${name}Alarm`, {
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missing,
        alarmDescription: description,
      });
      if (props.alarmTopic) created.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
      this.alarms.push(created);
    };
    alarm('Errors', this.function.metricErrors({ period, statistic: 'Sum' }), 1, 'The inferwatch bridge failed a run: nothing was committed, the next run retries the window. See its log group.');
    alarm('Throttles', this.function.metricThrottles({ period, statistic: 'Sum' }), 1, 'The inferwatch bridge was throttled: raise the account concurrency or reserve some for it.');
    // Runs are not aligned to the clock and their durations vary, so a period of one interval can hold no run at all
    // while the bridge is healthy; missing data breaches here, so that period would fire. Any window of two
    // intervals holds at least one run's datapoint, and stays empty only when the bridge has stopped.
    const lagPeriod = Duration.minutes(2 * scheduleMinutes);
    // One alarm per shard: each shard reports its own lag, and a shard that stops leaves its metric empty, which
    // breaches. One metric-math alarm over all shards (MAX of their maxima) would not do: MAX skips a shard whose
    // data is missing, so the others would keep it quiet, the very fault this prevents.
    for (let shard = 0; shard < shards; shard++) {
      alarm(
        shards === 1 ? 'Lag' : `Lag${shard}`,
        new cloudwatch.Metric({
          namespace: 'inferwatch',
          metricName: 'BridgeLagSeconds',
          dimensionsMap: { service: 'inferwatch-bridge', [SHARD_DIMENSION]: String(shard) },
          statistic: 'Maximum',
          period: lagPeriod,
        }),
        maxLag.toSeconds(),
        `inferwatch data of bridge shard ${shard} (of ${shards}) is more than ${maxLag.toSeconds()} s behind, or that shard stopped reporting.`,
        cloudwatch.TreatMissingData.BREACHING,
      );
    }
    alarm('DeadLetters', this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }), 1, 'Bridge invocations failed or could not be delivered; they are in the dead-letter queue.');
  }

  /** Each acknowledgement names the one finding it covers and why it is right here. */
  private acknowledgeNagFindings(stack: Stack): void {
    Validations.of(this.stateBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'The bucket holds one small state object per shard, read and written only by the bridge role; access logs would need a second bucket for no insight. CloudTrail data events can audit it where required.',
    });
    for (const id of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.deadLetterQueue).acknowledge({ id, reason: 'This queue is the dead-letter queue (of the function and of the schedules); it has no consumer to redrive from.' });
    }
    const policy = this.role.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:GetMetricData, cloudwatch:ListMetrics, sagemaker:ListEndpoints, sagemaker:ListInferenceComponents, tag:GetResources (granted only with endpointTags) and the X-Ray trace writes support no resource-level permissions.',
    });
    for (const resource of SAGEMAKER_DESCRIBE_RESOURCES) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:${resource}/*]`,
        reason: 'The bridge reports metadata of every SageMaker endpoint in its account and region; their names are not known at deploy time.',
      });
    }
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:${INFERENCE_COMPONENT_RESOURCE}/*]`,
      reason: 'The bridge reports the copy counts of every SageMaker inference component in its account and region; their names are not known at deploy time.',
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.stateBucket.node.defaultChild as s3.CfnBucket)}.Arn>/${STATE_PREFIX}*]`,
      reason: 'One state object per shard, all under this prefix.',
    });
    Validations.of(this.schedulerRole.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'grantInvoke covers the function and its versions; the schedules invoke only this one function.',
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason: "Failed asynchronous invocations go to the function's dead-letter queue (DeadLetterConfig); a failure destination on the same queue would deliver each failure twice.",
    });
  }
}

/** One schedule interval, within what the service accepts (at least 60 s). */
function maxEventAge(scheduleMinutes: number, serviceMax: Duration): Duration {
  return Duration.seconds(Math.min(Math.max(60, scheduleMinutes * 60), serviceMax.toSeconds()));
}
