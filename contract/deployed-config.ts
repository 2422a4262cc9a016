/**
 * How a deployed bridge finds its settings: the CloudWatchBridge construct writes them at synth into the function's
 * code asset as this file, and names it in this environment variable (a relative path is taken from the bundle's
 * own directory). Lambda allows 4 KB for all environment variables together, too little for a custom catalog.
 */
export const CONFIG_ASSET_FILE = 'bridge-config.json';
export const CONFIG_ASSET_ENV = 'INFERWATCH_CONFIG_ASSET';
