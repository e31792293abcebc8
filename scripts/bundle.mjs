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

// Work some libraries do when loaded (or on first use) that a one-shot `mqx pub` pays for at every
// start, deferred without changing what they compute:
// - string-width (under yargs, cliui, wrap-ansi, ora) builds an Intl.Segmenter (~20 ms of ICU
//   set-up) and /^\p{RGI_Emoji}$/v (~25 ms) at load; their only uses are .segment / .test.
// - mqtt-packet fills a cache of 65,536 two-byte Buffers on the first packet written (~30 ms with
//   the garbage collections it causes); each one is now made the first time it is written.
const deferrals = [
  { file: /[\\/]string-width[\\/]index\.js$/, swaps: [
    ['const segmenter = new Intl.Segmenter();',
      'let segmenterOnce; const segmenter = { segment: (text) => (segmenterOnce ??= new Intl.Segmenter()).segment(text) };'],
    ['const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;',
      'let rgiEmojiOnce; const rgiEmojiRegex = { test: (text) => (rgiEmojiOnce ??= /^\\p{RGI_Emoji}$/v).test(text) };'],
  ] },
  { file: /[\\/]mqtt-packet[\\/]writeToStream\.js$/, swaps: [
    ['    toGenerate = false\n    generateCache()\n', '    toGenerate = false\n'],
    ['  return stream.write(numCache[number])\n', '  return stream.write(numCache[number] ??= generateNumber(number))\n'],
  ] },
];
const deferLoadTimeWork = {
  name: 'defer-load-time-work',
  setup(build) {
    for (const { file, swaps } of deferrals) {
      build.onLoad({ filter: file }, (args) => {
        let text = readFileSync(args.path, 'utf8');
        // Not every copy has every line (string-width 7 has no emoji regex); a library update that
        // changes the text only costs speed again, never behaviour.
        for (const [eager, lazy] of swaps) text = text.replace(eager, () => lazy);
        return { contents: text, loader: 'js' };
      });
    }
  },
};

// Node 20 has /v regexes, but esbuild's node20 target lowers them to `new RegExp(...)`, which
// costs more than the literal (measured: /^\p{RGI_Emoji}$/v ~40 ms that way, not ~2 ms).
const keepRegexLiterals = { 'regexp-set-notation': true };

// Step 1: ESM with splitting, so each command's code stays in its own chunk (pub never loads broker).
const split = await esbuild.build({
  entryPoints: { main: join(root, 'dist/src/cli/main.js') },
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20',
  minify: true, write: false, outdir, chunkNames: '[name]-[hash]', logLevel: 'warning',
  plugins: [deferLoadTimeWork], supported: keepRegexLiterals,
});

// Step 2: each chunk to CommonJS (imports between chunks become require calls, resolved by
// bin/mqx's loader; dynamic import() becomes a require inside a promise, still lazy).
const chunkNames = new Set(split.outputFiles.map((file) => file.path.slice(outdir.length + 1)));
for (const file of split.outputFiles) {
  const name = file.path.slice(outdir.length + 1).replace(/\.js$/, '.cjs');
  let source = file.text;
  if (name === 'main.cjs') {
    // main.ts ends with `process.exitCode = await main(argv)`; CommonJS has no top-level await,
    // and nothing follows it, so a .then() is the same thing.
    const tla = /process\.exitCode\s*=\s*await\s+([\w$]+)\(process\.argv\.slice\(2\)\)/;
    if (!tla.test(source)) {
      throw new Error('scripts/bundle.mjs: main.js no longer ends with process.exitCode = await main(...)');
    }
    source = source.replace(tla, 'void $1(process.argv.slice(2)).then((code)=>{process.exitCode=code})');
  }
  // Only references to our own chunks are renamed (a string like "./x.js" in a library stays).
  source = source.replace(/(["'])\.\/([\w.-]+\.js)\1/g,
    (match, quote, chunk) => (chunkNames.has(chunk) ? `${quote}./${chunk.replace(/\.js$/, '.cjs')}${quote}` : match));
  const result = await esbuild.transform(source, {
    format: 'cjs', platform: 'node', target: 'node20', minify: true,
    supported: { ...keepRegexLiterals, 'dynamic-import': false },
    define: { 'import.meta.url': '__mqxImportMetaUrl' }, // bin/mqx passes the chunk's file URL
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, name), result.code);
}
const names = readdirSync(outdir).sort();
console.log(`bundled ${names.length} chunks into dist/src/bundle/`);
