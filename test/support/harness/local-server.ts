import type { Server } from 'node:http';

/** Listens on a free port of 127.0.0.1: the only address a test server of ours may use. */
export function listenOnLoopback(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

/** Closes the server, keep-alive connections included, so a test's process can exit. */
export async function closeServer(server: Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
