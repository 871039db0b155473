// Every npm script must run on Node 24 (DESIGN.md): the `node` dev dependency puts a Node 24
// binary first on the PATH of npm scripts. Fail loudly if that did not happen.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`portico: npm scripts must run on Node 24, got ${process.version}; run \`npm ci\` first`);
  process.exit(1);
}
