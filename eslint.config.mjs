// ESLint flat config for the page's JavaScript (plain ES modules, no build step) and its
// Node unit tests. scripts/test.sh installs a pinned eslint into the ignored .tools/eslint
// and runs it; the rule set and the globals come from that eslint's own node_modules.
import { createRequire } from "node:module";

const require = createRequire(process.argv[1]); // the eslint binary that loads this file
const js = require("@eslint/js");
const globals = require("globals");

export default [
  js.configs.recommended,
  {
    files: ["frontend/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.browser, // Plotly: `/* global Plotly */` where used
    },
  },
  {
    files: ["tests/js/**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
];
