// The proxy under test as a process of its own (so a crash is seen, not inherited by the test
// runner): runs the TypeScript sources directly (Node 24 --experimental-transform-types), mapping
// the sources' `.js` import specifiers to their `.ts` files, like cluster-worker.mjs.
// argv[2]: JSON { public, api, other } pod ports and the TLS certificate. Prints the listening
// ports as one JSON line on stdout.
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

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

// ADVERSARIAL_SRC: another copy of packages/ingress/src (say, an older commit's) to run the suite
// against; its tree must resolve packages the same way (symlink node_modules next to the copy's
// root and packages/ingress/node_modules: the ingress package has its own undici). E.g.
//   git archive <commit> packages/ingress/src | tar -x -C /tmp/old
//   ln -s $PWD/node_modules /tmp/old/node_modules
//   ln -s $PWD/packages/ingress/node_modules /tmp/old/packages/ingress/node_modules
const src = process.env.ADVERSARIAL_SRC
  ? pathToFileURL(process.env.ADVERSARIAL_SRC.replace(/\/?$/, '/')).href
  : import.meta.resolve('../../src/');
const { IngressServer } = await import(`${src}server.ts`);
const { compile } = await import(`${src}compile.ts`);
const { routeState } = await import('./routes.ts');

const config = JSON.parse(process.argv[2]);
const server = new IngressServer({
  host: '127.0.0.1',
  httpPort: 0,
  httpsPort: 0,
  defaultCert: config.cert,
  headersTimeout: config.headersTimeout,
  requestTimeout: config.requestTimeout,
  keepAliveTimeout: config.keepAliveTimeout,
  timeoutCheckInterval: 100,
  proxy: {
    maxBodyBytes: config.maxBodyBytes,
    upstreamHeadersTimeout: config.upstreamTimeout,
    upstreamBodyTimeout: config.upstreamTimeout,
  },
});
server.setTable(compile(routeState(config.pods), { version: 1 }));
const ports = await server.listen();
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.on('SIGTERM', () => {
  void server.close().finally(() => process.exit(0));
});
