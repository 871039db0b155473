/**
 * node:http, loaded with require() rather than `import`. An ES module import of a builtin builds a
 * namespace of all its exports, which reads node:http's lazy `WebSocket`, `CloseEvent` and
 * `MessageEvent` getters, and they load Node's bundled undici (with node:http2, worker_threads,
 * readline and the web streams): about 12 MiB of RSS in a process that needs none of them
 * (issue 12). require() returns the same module without reading the getters.
 */
import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';

export const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;
