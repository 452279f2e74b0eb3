import { encodeModule, instantiate, Locals, op } from '../wasm/index.js';

/** A real WebAssembly trap: an out-of-bounds load (memory growth cannot be made to fail in a test). */
export function wasmTrap(): Error {
  const api = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => object } })
    .WebAssembly;
  const locals = new Locals(0);
  const v = locals.v128();
  const run = instantiate(
    encodeModule(locals, [...op.i32(-16), ...op.v128Load(0), ...op.set(v)]),
    new api.Memory({ initial: 1 }),
  );
  try {
    run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a trap');
}
