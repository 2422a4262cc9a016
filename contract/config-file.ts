import { readFileSync } from 'node:fs';
import { isPair, isScalar, isSeq, parseDocument, visit, type YAMLError } from 'yaml';
import { ConfigError } from './errors';

/** The key path of a visitor's ancestors and pair key, as the schema's errors spell it: `workloads[1].bridge.shards`. */
function keyPath(ancestors: readonly unknown[], key: unknown): string {
  let path = '';
  ancestors.forEach((node, i) => {
    if (isPair(node) && isScalar(node.key)) path += `${path ? '.' : ''}${String(node.key.value)}`;
    const child = ancestors[i + 1];
    if (isSeq(node) && child !== undefined) path += `[${node.items.indexOf(child as never)}]`;
  });
  return `${path ? `${path}.` : ''}${String(key)}`;
}

/**
 * The last key that starts before the error: with a syntax error the parser has read everything up to it, and a
 * user fixes the value or the indentation just after that key. A duplicate key's error starts at the key itself.
 */
function keyBefore(text: string, offset: number, inclusive: boolean): string | undefined {
  const doc = parseDocument(text);
  let found: string | undefined;
  let start = -1;
  visit(doc, {
    Pair(_index, pair, ancestors) {
      const key = pair.key;
      if (!isScalar(key) || key.range === undefined || key.range === null) return;
      if ((inclusive ? key.range[0] <= offset : key.range[0] < offset) && key.range[0] > start) {
        start = key.range[0];
        found = keyPath(ancestors, key.value);
      }
    },
  });
  return found;
}

/** One line for a YAML syntax error: the file, the line and column, the key before it, and the parser's reason. */
function syntaxErrorLine(file: string, text: string, error: YAMLError): string {
  const where = error.linePos?.[0];
  // The parser's message ends with " at line L, column C:" and a code frame; the line carries the position already.
  const reason = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
  const key = keyBefore(text, error.pos[0], error.code === 'DUPLICATE_KEY');
  const position = where ? ` line ${where.line}, column ${where.col}` : '';
  return `YAML syntax error in ${file}${position}${key ? ` (after key "${key}")` : ''}: ${reason}`;
}

/**
 * Reads a config file (YAML, or JSON, which is YAML) into plain data. A file that cannot be read or parsed is a
 * ConfigError in one line naming the file, the line and the key near the mistake, never the parser's stack trace.
 */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first !== undefined) throw new ConfigError(syntaxErrorLine(file, text, first));
  return doc.toJS() as unknown;
}
