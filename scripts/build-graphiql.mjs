// Bundles the offline GraphiQL page (server/graphiql/main.tsx) into dist/graphiql/:
// index.html, the hashed JS/CSS bundles and the three Monaco workers. Run by `npm run build`;
// does nothing when the output is newer than every input.
import { build } from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'graphiql');
const tmpDir = `${outDir}.tmp`;
const entry = join(root, 'server', 'graphiql', 'main.tsx');
const publicPath = '/graphiql';

function newestMtime(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

// package-lock.json stands for every installed dependency (graphiql, monaco, react, ...).
const inputs = [join(root, 'server', 'graphiql'), fileURLToPath(import.meta.url), join(root, 'package-lock.json')];
const marker = join(outDir, 'index.html');
if (existsSync(marker) && statSync(marker).mtimeMs > Math.max(...inputs.map(newestMtime))) {
  process.exit(0);
}

const started = Date.now();
await rm(tmpDir, { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  outdir: tmpDir,
  entryNames: '[name]-[hash]',
  platform: 'browser',
  target: 'es2022',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'external', // licences go to *.LEGAL.txt next to each bundle
  define: { 'process.env.NODE_ENV': '"production"' },
};

// Each worker is a self-contained classic script: workers cannot share the page's chunks.
const workerEntries = {
  editor: 'monaco-editor/esm/vs/editor/editor.worker.js',
  json: 'monaco-editor/esm/vs/language/json/json.worker.js',
  graphql: 'monaco-graphql/esm/graphql.worker.js',
};
const workers = await build({
  ...common,
  entryPoints: Object.entries(workerEntries).map(([name, input]) => ({ in: input, out: `${name}.worker` })),
  format: 'iife',
  splitting: false,
});
const outputs = (result) => Object.keys(result.metafile.outputs).map((file) => relative(tmpDir, join(root, file)));
const workerUrls = Object.fromEntries(
  Object.keys(workerEntries).map((name) => [name, `${publicPath}/${outputs(workers).find((file) => new RegExp(`^${name}\\.worker-\\w+\\.js$`).test(file))}`]),
);

// graphiql/style.css already holds Monaco's CSS (and its fonts as data: URLs), so the
// .css files Monaco's modules import would only duplicate it.
const skipMonacoCss = {
  name: 'skip-monaco-css',
  setup(b) {
    b.onResolve({ filter: /\.css$/ }, (args) =>
      /[\\/]node_modules[\\/]monaco-editor[\\/]/.test(args.importer) ? { path: args.path, namespace: 'empty-css' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'empty-css' }, () => ({ contents: '', loader: 'css' }));
  },
};

const page = await build({
  ...common,
  entryPoints: [{ in: entry, out: 'graphiql' }],
  format: 'esm',
  splitting: true, // prettier and Monaco are import()ed on demand by graphiql
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  publicPath,
  jsx: 'automatic',
  // graphiql import()s these legacy CommonJS paths and destructures named exports, which esbuild
  // cannot provide for a CommonJS chunk (prettify would fail): use prettier's ESM builds instead.
  alias: { 'prettier/parser-graphql': 'prettier/plugins/graphql', 'prettier/parser-babel': 'prettier/plugins/babel' },
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file' },
  define: {
    ...common.define,
    ...Object.fromEntries(Object.entries(workerUrls).map(([name, url]) => [`MONACO_WORKER_URLS.${name}`, JSON.stringify(url)])),
  },
  plugins: [skipMonacoCss],
});
const js = outputs(page).find((file) => /^graphiql-.*\.js$/.test(file));
const css = outputs(page).find((file) => /^graphiql-.*\.css$/.test(file));
if (!js || !css) throw new Error(`missing page outputs: ${outputs(page).join(', ')}`);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Marketplace GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${publicPath}/${css}">
<script type="module" src="${publicPath}/${js}"></script>
</head>
<body style="margin:0">
<div id="graphiql" style="height:100dvh">Loading…</div>
</body>
</html>
`;
await writeFile(join(tmpDir, 'index.html'), html);

// Monaco's lazily loaded chunk gets a CSS file of its own, left empty by skip-monaco-css.
const bytes = {};
for (const file of await readdir(tmpDir)) {
  bytes[file] = (await stat(join(tmpDir, file))).size;
  if (bytes[file] === 0) {
    await rm(join(tmpDir, file));
    delete bytes[file];
  }
}
await mkdir(dirname(outDir), { recursive: true });
await rm(outDir, { recursive: true, force: true });
await rename(tmpDir, outDir);

const files = Object.keys(bytes);
const kib = (n) => `${Math.round(n / 1024)} KiB`;
const sum = (list) => kib(list.reduce((total, f) => total + bytes[f], 0));
const workerFiles = files.filter((f) => /\.worker-\w+\.js$/.test(f));
console.log(
  `build-graphiql: wrote ${relative(root, outDir)}/ in ${((Date.now() - started) / 1000).toFixed(1)}s: ` +
    `${js} ${kib(bytes[js])}, ${css} ${kib(bytes[css])}, ${workerFiles.length} workers ${sum(workerFiles)}, ` +
    `total ${sum(files)} in ${files.length} files`,
);
