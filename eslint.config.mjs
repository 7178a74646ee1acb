// ESLint flat config: typescript-eslint's recommended rules (not type-checked, to stay fast), the
// import boundaries of design.md (Layout, Conventions) via eslint-plugin-import's no-restricted-paths, then eslint-config-prettier
// so that formatting is prettier's job alone.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import importPlugin from 'eslint-plugin-import';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const SOURCES = ['server/**', 'cli/**', 'test/**', 'scripts/**', 'web/**', 'ormconfig.ts'].flatMap((p) =>
  p.endsWith('**') ? ['ts', 'tsx', 'mts', 'cts', 'js', 'mjs', 'cjs'].map((ext) => `${p}/*.${ext}`) : [p],
);

// `mp init` copies each template into a vendor's project: it may use only its own files and generated/.
const templateZones = readdirSync(new URL('./cli/templates/', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map(({ name }) => ({
    target: `./cli/templates/${name}`,
    from: '.',
    except: [`./cli/templates/${name}`, './generated', './node_modules'],
    message: `cli/templates/${name} imports only its own files and generated/ (templates are copied into vendor projects).`,
  }));

const PLATFORM_ROOMS = ['./server/storage', './server/jobs', './server/live', './server/tokens', './server/idempotency'];

const zones = [
  {
    target: './cli',
    from: '.',
    except: ['./cli', './generated', './node_modules'],
    message: 'cli/ imports only its own files and generated/: never server/, ormconfig.ts, test/ or scripts/.',
  },
  ...templateZones,
  {
    target: './server/modules',
    from: ['./server/http', './server/app.ts'],
    message: 'server/modules/ never imports server/http/ or server/app.ts (transport depends on modules, not the reverse).',
  },
  {
    target: ['./server/db', './ormconfig.ts'],
    from: './server/modules',
    message: 'server/db/ and ormconfig.ts never import server/modules/ (the modules inject their entities).',
  },
  {
    target: './server/providers',
    from: ['./server/app.ts', './server/http'],
    message: 'server/providers/ never imports server/app.ts or server/http/.',
  },
  {
    target: PLATFORM_ROOMS,
    from: ['./server/modules', './server/http', './server/app.ts'],
    message:
      'Platform rooms (server/storage, jobs, live, tokens, idempotency) know no domain and no transport: never import server/modules/, server/http/ or the app.',
  },
  {
    target: './web',
    from: ['./server', './ormconfig.ts'],
    message: 'web/ never imports server code (server/, ormconfig.ts): only generated/ and its own files.',
  },
];

// The plugin's no-restricted-paths checks import/export declarations, import() and require(), but not
// TypeScript's `typeof import('x')` types nor `import x = require('x')`: feed those to it as well.
const boundaries = importPlugin.rules['no-restricted-paths'];
const boundariesWithTsImports = {
  meta: boundaries.meta,
  create(context) {
    const visitors = boundaries.create(context);
    const check = (source) => {
      if (source?.type === 'Literal' && typeof source.value === 'string') visitors.ImportExpression({ type: 'ImportExpression', source });
    };
    return {
      ...visitors,
      TSImportType: (node) => check(node.argument?.literal ?? node.source),
      TSImportEqualsDeclaration: (node) => check(node.moduleReference?.expression),
    };
  },
};

export default defineConfig(
  globalIgnores(['generated/', '**/*.generated.ts', 'dist/', '**/node_modules/', 'cli/templates/**/node_modules/', 'coverage/', '.mp-data/', '.test-data/']),
  {
    files: SOURCES,
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Allow deliberately unused `_`-prefixed parameters/variables and ignored catch bindings.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The CLI loads its modules lazily with `require('./x') as typeof import('./x')` to keep startup fast (design.md).
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['server/graphiql/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: SOURCES,
    plugins: { boundaries: { rules: { 'no-restricted-paths': boundariesWithTsImports } } },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'] } } },
    rules: { 'boundaries/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones }] },
  },
  prettier,
);
