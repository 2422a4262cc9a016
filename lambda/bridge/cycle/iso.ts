/** An epoch ms as ISO 8601 for logs; undefined for none (or an infinite bound). */
export function iso(ms: number | undefined): string | undefined {
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
}
