import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hasRemedy } from '../../../contract/errors';
import { AwsCallError, AwsRequestError, instrumentAwsClient, sdkError } from '../../../lambda/bridge/aws-calls';
import type { BridgeLogger } from '../../../lambda/bridge/logger';

const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

test('a failed AWS call names the service, the operation, the HTTP status and the attempts, not only the server text', async () => {
  // CloudWatch answering 500 with a bare message, as a broken endpoint or proxy would.
  const server = createServer((_req, res) => res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'InternalFailure;Receiver' }).end('{"__type":"InternalFailure","message":"boom"}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = instrumentAwsClient(
    new CloudWatchClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxAttempts: 2, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
    quiet,
  );
  try {
    await expect(client.send(new ListMetricsCommand({ Namespace: 'AWS/SageMaker' }))).rejects.toThrow(/^CloudWatch ListMetrics failed with HTTP 500 after 2 attempt\(s\): InternalFailure: boom$/);
  } finally {
    server.close();
  }
});

async function failingCall(status: number, type: string, message: string) {
  const server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${type};Sender` }).end(JSON.stringify({ __type: type, message })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = instrumentAwsClient(
    new CloudWatchClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
    quiet,
  );
  try {
    return await client.send(new ListMetricsCommand({ Namespace: 'AWS/SageMaker' })).then(
      () => undefined,
      (error: unknown) => error,
    );
  } finally {
    server.close();
  }
}

test('the SDK error is wrapped, never edited: it stays the cause, with its own name, status and message', async () => {
  const error = await failingCall(403, 'AccessDenied', 'not authorized to perform cloudwatch:ListMetrics');
  expect(error).toBeInstanceOf(AwsRequestError);
  expect(hasRemedy(error, 'fix-config')).toBe(true);
  expect((error as Error).message).toBe('CloudWatch ListMetrics failed with HTTP 403 after 1 attempt(s): AccessDenied: not authorized to perform cloudwatch:ListMetrics');
  const cause = sdkError(error) as Error & { $metadata?: { httpStatusCode?: number } };
  expect(cause).toBe((error as Error).cause);
  expect([cause.name, cause.message, cause.$metadata?.httpStatusCode]).toEqual(['AccessDenied', 'not authorized to perform cloudwatch:ListMetrics', 403]);
});

test('throttling and 5xx are AwsCallError, to be retried', async () => {
  expect(await failingCall(400, 'Throttling', 'Rate exceeded')).toBeInstanceOf(AwsCallError);
  const error = await failingCall(503, 'ServiceUnavailable', 'try later');
  expect(error).toBeInstanceOf(AwsCallError);
  expect(hasRemedy(error, 'retry')).toBe(true);
});
