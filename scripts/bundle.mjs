// Bundles dist/src/cli/main.js (after tsc) into dist/src/bundle/: one chunk per lazily loaded
// command plus shared chunks, as CommonJS, so bin/mqx can load them through vm.Script with a V8
// code cache (Node 20 has no ESM compile cache). Must not change behaviour: it only repackages.
// Usage: node scripts/bundle.mjs [--clean]   (run by `npm run build`; skips without esbuild)
// --clean only removes the bundle, first thing in a build, so a failed tsc never leaves a stale
// bundle beside a fresh dist/ (bin/mqx then runs dist/ unbundled).

import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist/src/bundle'); // depth dist/src/X/ so version.ts still finds package.json
if (process.argv.includes('--clean')) {
  rmSync(outdir, { recursive: true, force: true });
  process.exit(0);
}
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // An install without devDependencies: bin/mqx falls back to the unbundled dist/src/cli/main.js.
  console.warn('scripts/bundle.mjs: esbuild not installed; bin/mqx will load dist/ unbundled');
  process.exit(0);
}

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

// Step 1: ESM with splitting, so each command's code stays in its own chunk (pub never loads broker).
const split = await esbuild.build({
  entryPoints: { main: join(root, 'dist/src/cli/main.js') },
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20',
  minify: true, write: false, outdir, chunkNames: '[name]-[hash]', logLevel: 'warning',
});

// Step 2: each chunk to CommonJS (imports between chunks become require calls, resolved by
// bin/mqx's loader; dynamic import() becomes a require inside a promise, still lazy).
const chunkNames = new Set(split.outputFiles.map((file) => file.path.slice(outdir.length + 1)));
for (const file of split.outputFiles) {
  const name = file.path.slice(outdir.length + 1).replace(/\.js$/, '.cjs');
  // Only references to our own chunks are renamed (a string like "./x.js" in a library stays).
  let source = file.text;
  if (name === 'main.cjs') {
    // main.ts ends with `process.exitCode = await main(argv)`; CommonJS has no top-level await,
    // and nothing follows it, so a .then() is the same thing.
    const tla = /process\.exitCode=await ([\w$]+)\(process\.argv\.slice\(2\)\)/;
    if (!tla.test(source)) throw new Error('scripts/bundle.mjs: main.js no longer ends with process.exitCode = await main(...)');
    source = source.replace(tla, 'void $1(process.argv.slice(2)).then((code)=>{process.exitCode=code})');
  }
  source = source.replace(/(["'])\.\/([\w.-]+\.js)\1/g,
    (match, quote, chunk) => (chunkNames.has(chunk) ? `${quote}./${chunk.replace(/\.js$/, '.cjs')}${quote}` : match));
  const result = await esbuild.transform(source, {
    format: 'cjs', platform: 'node', target: 'node20', minify: true,
    supported: { 'dynamic-import': false }, define: { 'import.meta.url': '__mqxImportMetaUrl' }, logLevel: 'warning',
  });
  writeFileSync(join(outdir, name), result.code);
}
const names = readdirSync(outdir).sort();
console.log(`bundled ${names.length} chunks into dist/src/bundle/`);
