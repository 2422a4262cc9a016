import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

/**
 * The cdk-nag packs this repository's app runs on every synth; an unacknowledged finding fails it. Here, not in
 * lib/: the library's constructs acknowledge their findings through aws-cdk-lib's Validations, so an app that
 * installs the package chooses its own checks and does not need cdk-nag (a dev dependency) to import it.
 */
export function addNagChecks(app: App): App {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  return app;
}
