/** SageMaker answers kept across cold starts, so SageMaker calls grow with change, not with the fleet. */
export interface SageMakerCache {
  /** Endpoint name -> DescribeEndpoint, reduced to what the metadata series need. */
  endpoints: Record<string, CachedEndpoint>;
  /** Endpoint config name -> variant -> [instance type, model name]. Configs are immutable. */
  configs: Record<string, Record<string, [string, string]>>;
  /** Deleted endpoints (`name`), variants (`name/variant`) and inference components (`component:name`) -> when the bridge saw them go (epoch ms). */
  ended?: Record<string, number>;
  /** Inference component name -> DescribeInferenceComponent, reduced. Absent from states written before components were read. */
  components?: Record<string, CachedComponent>;
  /**
   * Lower-cased resource ARN -> [when read (epoch ms), the configured tag keys it carries]. Lower-cased because the
   * tagging API may answer an ARN in another case than SageMaker lists it. Absent when no `endpointTags` are configured.
   */
  tags?: Record<string, [number, Record<string, string>]>;
}

export interface CachedComponent {
  readonly endpoint: string;
  readonly variant: string;
  readonly arn: string;
  /** LastModifiedTime (epoch ms) when described. */
  readonly modified: number;
  /** When it was described (epoch ms). */
  readonly described: number;
  readonly status: string;
  /** RuntimeConfig.DesiredCopyCount */
  readonly desired: number | null;
  /** RuntimeConfig.CurrentCopyCount */
  readonly current: number | null;
}

export interface CachedEndpoint {
  /** LastModifiedTime (epoch ms) when described. */
  readonly modified: number;
  /** When it was described (epoch ms). */
  readonly described: number;
  readonly status: string;
  readonly config: string;
  /** EndpointArn, the key of its tags. Absent from states written before tags were read: filled in from ListEndpoints. */
  readonly arn?: string;
  /** [variant, current instances, desired instances, current weight, desired weight, serverless 0/1] */
  readonly variants: ReadonlyArray<[string, number | null, number | null, number | null, number | null, number]>;
}
