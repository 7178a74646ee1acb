// Bundles the web console (web/main.tsx) into dist/web/: index.html and the hashed JS and CSS.
// Run by `npm run build` and `npm test`; does nothing when the output is newer than every input.
import { build } from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'web');
const tmpDir = `${outDir}.tmp`;
const publicPath = '/web';

function newestMtime(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

// package-lock.json stands for every installed dependency (react, urql, uplot, ...).
const inputs = [join(root, 'web'), join(root, 'generated', 'web'), fileURLToPath(import.meta.url), join(root, 'package-lock.json')];
const marker = join(outDir, 'index.html');
if (existsSync(marker) && statSync(marker).mtimeMs > Math.max(...inputs.map(newestMtime))) process.exit(0);

const started = Date.now();
await rm(tmpDir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: [{ in: join(root, 'web', 'main.tsx'), out: 'console' }],
  bundle: true,
  minify: true,
  outdir: tmpDir,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  publicPath,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'external',
  define: { 'process.env.NODE_ENV': '"production"' },
});
const outputs = Object.keys(result.metafile.outputs).map((file) => relative(tmpDir, join(root, file)));
const js = outputs.find((file) => /^console-.*\.js$/.test(file));
const css = outputs.find((file) => /^console-.*\.css$/.test(file));
if (!js || !css) throw new Error(`missing console outputs: ${outputs.join(', ')}`);

await writeFile(
  join(tmpDir, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trader marketplace</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${publicPath}/${css}">
<script type="module" src="${publicPath}/${js}"></script>
</head>
<body>
<div id="root"></div>
<noscript>The marketplace console needs JavaScript; the API is at /graphql.</noscript>
</body>
</html>
`,
);
const bytes = {};
for (const file of await readdir(tmpDir)) bytes[file] = (await stat(join(tmpDir, file))).size;
await mkdir(dirname(outDir), { recursive: true });
await rm(outDir, { recursive: true, force: true });
await rename(tmpDir, outDir);
const kib = (n) => `${Math.round(n / 1024)} KiB`;
console.log(
  `build-web: wrote ${relative(root, outDir)}/ in ${((Date.now() - started) / 1000).toFixed(1)}s: ${js} ${kib(bytes[js])}, ${css} ${kib(bytes[css])}`,
);
