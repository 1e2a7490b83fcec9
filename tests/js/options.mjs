// The server's vocabularies for the page's modules under Node: test_js_units.py writes the
// real GET /api/options answer to $UNLEARNSCOPE_OPTIONS_JSON (the tests keep no lists).
import { readFileSync } from "node:fs";

import { setVocab } from "../../frontend/js/core/vocab.js";

const path = process.env.UNLEARNSCOPE_OPTIONS_JSON;
if (!path) {
  throw new Error("run these through `pytest tests/e2e/test_js_units.py`: it writes GET /api/options to $UNLEARNSCOPE_OPTIONS_JSON");
}
export const OPTIONS = JSON.parse(readFileSync(path, "utf8"));
setVocab(OPTIONS);
