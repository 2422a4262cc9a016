/**
 * The CloudWatch metrics the endpoint shapes add, as [CloudWatch metric, Prometheus name(, scale)]: what the catalog
 * unit test and the shapes end-to-end test both hold the built-in catalog to.
 */

/** `AWS/SageMaker`, asynchronous endpoints: counters read from Sum. */
export const ASYNC_FAILURE_COUNTERS = [
  ['RequestDownloadFailures', 'aws_sagemaker_async_request_download_failures_total'],
  ['ResponseUploadFailures', 'aws_sagemaker_async_response_upload_failures_total'],
  ['NotificationFailures', 'aws_sagemaker_async_notification_failures_total'],
  ['ExpiredRequests', 'aws_sagemaker_async_expired_requests_total'],
  ['InvocationFailures', 'aws_sagemaker_async_invocation_failures_total'],
] as const;

/** `AWS/SageMaker`, asynchronous endpoints: summaries in seconds; TotalProcessingTime comes in milliseconds. */
export const ASYNC_LATENCY_SUMMARIES = [
  ['TimeInBacklog', 'aws_sagemaker_async_time_in_backlog_seconds', 1e-6],
  ['RequestDownloadLatency', 'aws_sagemaker_async_request_download_latency_seconds', 1e-6],
  ['ResponseUploadLatency', 'aws_sagemaker_async_response_upload_latency_seconds', 1e-6],
  ['TotalProcessingTime', 'aws_sagemaker_async_total_processing_seconds', 1e-3],
] as const;

/** `AWS/SageMaker`, multi-model endpoints: µs summaries with no quantiles. */
export const MME_LOADING_SUMMARIES = [
  ['ModelLoadingWaitTime', 'aws_sagemaker_model_loading_wait_seconds'],
  ['ModelUnloadingTime', 'aws_sagemaker_model_unloading_seconds'],
  ['ModelDownloadingTime', 'aws_sagemaker_model_downloading_seconds'],
  ['ModelLoadingTime', 'aws_sagemaker_model_loading_seconds'],
] as const;

/** `/aws/sagemaker/InferenceComponents`: Average percentages as ratios. */
export const COMPONENT_UTILISATION = [
  ['CPUUtilizationNormalized', 'aws_sagemaker_inference_component_cpu_utilization_ratio'],
  ['GPUUtilizationNormalized', 'aws_sagemaker_inference_component_gpu_utilization_ratio'],
  ['GPUMemoryUtilizationNormalized', 'aws_sagemaker_inference_component_gpu_memory_utilization_ratio'],
  ['MemoryUtilizationNormalized', 'aws_sagemaker_inference_component_memory_utilization_ratio'],
] as const;

/** `/aws/sagemaker/Endpoints` on endpoints that host inference components: Average percentages as ratios. */
export const COMPONENT_ENDPOINT_GAUGES = [
  ['CPUReservation', 'aws_sagemaker_endpoint_cpu_reservation_ratio'],
  ['GPUReservation', 'aws_sagemaker_endpoint_gpu_reservation_ratio'],
  ['MemoryReservation', 'aws_sagemaker_endpoint_memory_reservation_ratio'],
  ['CPUUtilizationNormalized', 'aws_sagemaker_endpoint_cpu_utilization_normalized_ratio'],
  ['GPUUtilizationNormalized', 'aws_sagemaker_endpoint_gpu_utilization_normalized_ratio'],
  ['GPUMemoryUtilizationNormalized', 'aws_sagemaker_endpoint_gpu_memory_utilization_normalized_ratio'],
] as const;
