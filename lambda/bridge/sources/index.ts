import { GetMetricDataSource } from './get-metric-data';
import { PromQlSource } from './promql/promql-source';
import type { SourceContext } from './context';
import { SageMakerMetadataSource } from './sagemaker-metadata';
import type { MetricSource } from './source';

export type { SourceContext, SourceDeps } from './context';
export type * from './source';

/**
 * The sources a cycle reads, in the order their series are written: CloudWatch's classic metrics, then (with a
 * SageMaker client) the endpoint metadata; with `promql.enabled`, SageMaker's detailed observability between them. A new source is one more line here; the cycle does not change.
 */
export function cycleSources(context: SourceContext): MetricSource[] {
  const { sagemaker } = context.deps;
  return [
    new GetMetricDataSource(context),
    ...(context.config.promql.enabled ? [new PromQlSource(context)] : []),
    ...(sagemaker ? [new SageMakerMetadataSource(sagemaker, context)] : []),
  ];
}
