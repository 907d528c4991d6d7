/**
 * Opt-in multi-threaded wasm backend in Node (placeholder).
 */
export async function activateThreadedWasm(threads: number, activate: () => Promise<void>): Promise<void> {
  void threads;
  await activate();
}
