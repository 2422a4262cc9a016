/**
 * URLs reach logs and error messages (fetch failures quote them whole); anything in them that could be a secret
 * is masked first: the user-info part and every query value.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactText(url);
  }
  if (parsed.username) parsed.username = '***';
  if (parsed.password) parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) parsed.searchParams.set(key, '***');
  return parsed.toString().replace(/%2A%2A%2A/g, '***');
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Every URL in free text (an error message, a log line) with its user-info and query values masked. */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => {
    try {
      new URL(match);
    } catch {
      // Not parseable as a whole: mask anything that looks like user-info anyway.
      return match.replace(/\/\/[^/@\s]*@/, '//***@');
    }
    return redactUrl(match);
  });
}
