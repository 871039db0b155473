// Entry point of the cluster workers started by cluster.test.ts: runs the TypeScript sources
// directly (Node 24 --experimental-transform-types), mapping the sources' `.js` import specifiers
// to their `.ts` files.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js'))
        return next(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});

const { runWorker } = await import('../src/workers.ts');
await runWorker();
