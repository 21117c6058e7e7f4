// Builds the viewer page into dist/viewer: index.html and content-hashed
// assets (the app, the chart library as a chunk loaded by the metrics view,
// one stylesheet, the icon). Everything the page needs ships in the package:
// no CDN, no web fonts. Prints each file's size and the gzip size of a first load.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(root, 'src/viewer');
const out = join(root, 'dist/viewer');
const assets = join(out, 'assets');

await rm(out, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: join(source, 'ui/main.tsx') },
  outdir: assets,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome111', 'edge111', 'firefox114', 'safari16.4'],
  minify: true,
  legalComments: 'eof',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
});

const outputs = result.metafile.outputs;
const rel = (file) => relative(out, join(root, file)).split('\\').join('/');
const entry = Object.entries(outputs).find(([, o]) => o.entryPoint?.endsWith('ui/main.tsx'));
if (!entry) throw new Error('build-viewer: esbuild produced no entry point output');
const [entryFile, entryOutput] = entry;
if (!entryOutput.cssBundle) throw new Error('build-viewer: the entry point has no stylesheet');
// Chunks the entry imports statically are preloaded with it; dynamic ones (the chart library) wait.
const preloads = entryOutput.imports
  .filter((i) => i.kind === 'import-statement' && !i.external)
  .map((i) => rel(i.path));

const icon = await readFile(join(source, 'icon.svg'));
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
await writeFile(join(assets, iconName), icon);

const template = await readFile(join(source, 'index.html'), 'utf8');
const html = template
  .replace('{{icon}}', `./assets/${iconName}`)
  .replace('{{css}}', `./${rel(entryOutput.cssBundle)}`)
  .replace('{{js}}', `./${rel(entryFile)}`)
  .replace(
    '{{preloads}}',
    preloads.map((p) => `<link rel="modulepreload" href="./${p}">`).join('\n    '),
  );
if (html.includes('{{')) throw new Error('build-viewer: index.html has an unfilled placeholder');
await writeFile(join(out, 'index.html'), html);

// Sizes: every file, and what a first visit of the trace pages downloads.
const sizeOf = async (file) => {
  const body = await readFile(join(out, file));
  return { raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
};
const files = ['index.html', `assets/${iconName}`, ...Object.keys(outputs).map(rel)];
let first = 0;
const firstLoad = new Set([
  'index.html',
  `assets/${iconName}`,
  rel(entryFile),
  rel(entryOutput.cssBundle),
  ...preloads,
]);
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const file of files) {
  const { raw, gzip } = await sizeOf(file);
  if (firstLoad.has(file)) first += gzip;
  console.log(`  dist/viewer/${file.padEnd(36)} ${kb(raw).padStart(10)}  gzip ${kb(gzip)}`);
}
console.log(
  `  viewer: ${kb(first)} gzip on first load; the chart library (${basename(
    Object.keys(outputs).find((f) => f.includes('uPlot')) ?? 'none',
  )}) loads with the first chart`,
);
