// No import crosses a package boundary except through the other package's `exports` (see boundaries.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBoundaries, checkImports, importSpecifiers, readPackages } from './boundaries.ts';
import { repoRoot } from './repo.ts';

test('no file of the repository imports across a package boundary except through exports', () => {
  const violations = checkBoundaries(repoRoot);
  assert.deepEqual(
    violations.map((violation) => `${violation.file}: '${violation.specifier}' ${violation.reason}`),
    [],
  );
});

test('the check catches a deep relative path, an unlisted subpath and an undeclared package', () => {
  const packages = readPackages(repoRoot);
  const text = [
    "import { startApp } from '../../server/src/app.ts';",
    "import type { FakeOpenAI } from '../../server/test/fake-openai-server.ts';",
    'import {',
    '  loadConfig,',
    "} from '@chrome-plus/server/src/config.ts';",
    // Spelt apart, so that the scan of this very file does not take it for an import of its own.
    `const later = await ${'import'}('../../../server/src/logger.ts');`,
    "import { chatMessageSchema } from '@chrome-plus/protocol';",
    "import { sleep } from './wait.ts';",
  ].join('\n');
  const found = checkImports(packages, 'extension/e2e/example.e2e.ts', importSpecifiers(text));
  assert.deepEqual(
    [...new Set(found.map((violation) => violation.specifier))],
    [
      '../../server/src/app.ts',
      '../../server/test/fake-openai-server.ts',
      '@chrome-plus/server/src/config.ts',
      '../../../server/src/logger.ts',
    ],
  );
  assert.match(found[0]!.reason, /reaches into @chrome-plus\/server/);
  assert.match(found[2]!.reason, /exports do not list/);
  // A package imported by name that the importer does not declare.
  const undeclared = checkImports(packages, 'protocol/src/example.ts', ['@chrome-plus/testkit']);
  assert.match(undeclared[0]?.reason ?? '', /does not declare @chrome-plus\/testkit/);
});
