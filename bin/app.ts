#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../contract/errors';
import { loadInferwatchConfig } from '../lib/config/inferwatch-config';
import { buildInferwatch } from '../lib/inferwatch-app';
import { addNagChecks } from './nag-checks';

try {
  const app = addNagChecks(new App());
  // `cdk synth -c config=path/to/inferwatch.config.yaml`, else ./inferwatch.config.yaml, else the `inferwatch` context in cdk.json.
  const configPath = app.node.tryGetContext('config') as string | undefined;
  const source = configPath ?? (existsSync('inferwatch.config.yaml') ? 'inferwatch.config.yaml' : (app.node.tryGetContext('inferwatch') as object | undefined));
  const config = loadInferwatchConfig(source);
  buildInferwatch(app, config, { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION });
  app.synth();
} catch (error) {
  // A configuration mistake is one line naming the key, like the bridge's; anything else keeps its stack trace.
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`inferwatch: invalid configuration: ${error.message}\n`);
  process.exit(2);
}
