/**
 * Runs last (file names sort it there): every database, schema and SQLite folder this test
 * run created (named `lockstep_t_<run>_…`, see TEST_RUN_PREFIX) has been dropped again, on
 * every server, failed tests included. Run alone it checks nothing but that the servers answer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadFixtures, TEST_RUN_PREFIX } from "./support/fixtures.js";
import { describeFixture } from "./support/harness.js";

for (const fixture of await loadFixtures()) {
  await describeFixture(fixture, describe, () => {
    it(`this run left nothing named ${TEST_RUN_PREFIX}… behind`, async () => {
      assert.deepEqual(await fixture.leftovers(), []);
    });
  });
}
