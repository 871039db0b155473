/** How often a start that lost its port is tried in all. */
export const PORT_RACE_TRIES = 3;

/**
 * Runs `attempt` again (after `undo`) when the process it starts exits because a port picked free
 * was taken before the process bound it: tests start API servers side by side, and between
 * freePort() closing its probe and the process binding, another process can get the same port.
 */
export async function retryLostPortRace<T>(
  attempt: () => Promise<T>,
  undo: () => Promise<unknown>,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      const lost = err instanceof Error && /address already in use/.test(err.message);
      if (!lost || tries >= PORT_RACE_TRIES) throw err;
      await undo();
    }
  }
}
