/** The longest delay `setTimeout` honours (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A timer that can be cleared. */
export interface LongTimer {
  clear(): void;
}

/**
 * `setTimeout` for any delay: Node clamps a delay above 2^31 − 1 ms to 1 ms (with a warning), so
 * a 30-day deadline would fire at once. This chains timers of at most that length instead. The
 * timers are unref'd: a pending deadline never keeps the process alive.
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  const due = Date.now() + Math.max(0, ms);
  const arm = () => {
    const left = due - Date.now();
    if (left <= 0) return fn();
    timer = setTimeout(
      () => {
        if (!cleared) arm();
      },
      Math.min(left, MAX_TIMEOUT_MS),
    );
    timer.unref();
  };
  arm();
  return {
    clear() {
      cleared = true;
      if (timer) clearTimeout(timer);
    },
  };
}
