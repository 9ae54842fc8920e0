import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Layer rules of DESIGN.md: imports point down only.
    files: ['src/spiffe/**/*.ts', 'src/pki/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/store/**', '**/server/**', '**/agent/**', '**/cli/**'], message: 'spiffe/ and pki/ are pure layers' },
          { group: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:https', 'node:child_process', 'fs', 'net'], message: 'spiffe/ and pki/ do no I/O' },
        ],
      }],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/**', '**/agent/**', '**/cli/**'], message: 'store/ sits below server/ and agent/' }] }] },
  },
  {
    files: ['src/server/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/agent/**', '**/cli/**'], message: 'server/ never imports agent/ or cli/' }] }] },
  },
  {
    files: ['src/workload/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/**', '**/store/**', '**/agent/**', '**/cli/**'], message: 'workload/ is a client library: spiffe/, pki/ and common/ only' }] }] },
  },
  {
    files: ['src/agent/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/**', '**/store/**', '**/cli/**'], message: 'agent/ never imports server/, store/ or cli/' }] }] },
  },
);
