/**
 * Runs an async pass one at a time. A call while a pass runs asks for one more pass after it, however
 * many calls came meanwhile: passes never overlap, and the last change asked for is always seen.
 */
export function serialPasses(pass: () => Promise<void>): () => Promise<void> {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await pass();
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      await run();
    }
  };
  return run;
}
