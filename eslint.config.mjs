// The house's fences: type-aware checks, a front door per capability, no import cycle, and
// size limits that keep each file and function to one job. `npm run lint` runs it; CI runs it
// before the tests.
import fs from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const SRC = path.resolve(import.meta.dirname, 'src');
// Programs of their own that build an App: they may import the composition root and config.
const ENTRY_PROGRAMS = new Set(['cli', 'bench', 'demo']);
const hasIndex = new Map();
const isRoom = (dir) => {
  if (!hasIndex.has(dir)) hasIndex.set(dir, fs.existsSync(path.join(dir, 'index.ts')));
  return hasIndex.get(dir);
};

/**
 * A folder with an `index.ts` is a room with a front door: from outside the folder, only the
 * door may be imported. Every capability (a folder right under src/) must have one, and no
 * capability imports the composition root (`app.ts`) or `config.ts`: they get what they need
 * passed in. The root's own files (`main.ts`, `app*.ts`, `config.ts`) and the entry programs
 * (`cli/`, `bench/`, `demo/`) may build an App.
 */
const frontDoors = {
  meta: {
    type: 'problem',
    messages: {
      internal: "'{{target}}' is inside {{room}}/: import the room's front door '{{door}}' instead",
      noDoor: "capability '{{room}}' has no index.ts: give it a front door and import that",
      root: "'{{target}}' is the composition root's: a capability gets what it needs passed in",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    if (!file.startsWith(SRC + path.sep)) return {};
    const fromRel = path.relative(SRC, file);
    const fromTop = fromRel.split(path.sep)[0];
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(SRC + path.sep)) return;
      const rel = path.relative(SRC, target);
      const parts = rel.split(path.sep);
      if (parts.length === 1 && !isRoom(target)) {
        const fromRoot = !fromRel.includes(path.sep);
        if (!fromRoot && !ENTRY_PROGRAMS.has(fromTop))
          context.report({ node, messageId: 'root', data: { target: `src/${rel}` } });
        return;
      }
      if (parts.length === 1) return; // a capability's front door
      if (parts[0] !== fromTop && !isRoom(path.join(SRC, parts[0]))) {
        context.report({ node, messageId: 'noDoor', data: { room: `src/${parts[0]}` } });
        return;
      }
      // Walk the target's folders from the top: the first room the importer is outside of
      // must be entered through its door.
      for (let i = 1; i < parts.length; i++) {
        const dir = path.join(SRC, ...parts.slice(0, i));
        const inside = file.startsWith(dir + path.sep);
        if (inside || !isRoom(dir)) continue;
        const door = path.join(SRC, ...parts.slice(0, i));
        if (target === door || target === path.join(door, 'index')) return;
        context.report({
          node,
          messageId: 'internal',
          data: {
            target: `src/${rel}`,
            room: `src/${parts.slice(0, i).join('/')}`,
            door: `src/${parts.slice(0, i).join('/')}`,
          },
        });
        return;
      }
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'test/artifacts/**', 'public/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX, house: { rules: { 'front-doors': frontDoors } } },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // A Service's start()/stop() are async by contract even where one has nothing to await.
      '@typescript-eslint/require-await': 'off',
      'house/front-doors': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-duplicates': ['error', { 'prefer-inline': true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
  {
    // Tests read supertest's `res.body`, which is `any` by design: asserting on it is the point.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { ...globals.node },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
);
