// Lint only for what the compiler cannot see: promises left floating (a rejected one crashes the
// process or is lost) and promises passed where a plain callback is expected.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.probe-*', 'src/monitor/dashboard/page/', 'test/fixtures/type-errors/'] },
  {
    files: ['src/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    },
  },
);
