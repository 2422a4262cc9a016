declare module 'snappyjs' {
  /** Snappy block format (not the framed stream format). */
  export function compress(input: Uint8Array): Uint8Array;
  export function uncompress(input: Uint8Array): Uint8Array;
}
