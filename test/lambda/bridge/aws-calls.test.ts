import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { instrumentAwsClient } from '../../../lambda/bridge/aws-calls';
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
