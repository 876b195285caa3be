/**
 * The provider validation suite on the PostgreSQL server at DATABASE_URL. Without DATABASE_URL
 * the tests are ignored, except in CI, where they run and fail.
 */

import { allValidationTests, registerValidationTests } from "../sim/mod.ts";
import { openServerFactory, serverTestsIgnored } from "./_support/factories.ts";

registerValidationTests(allValidationTests, openServerFactory, {
  prefix: "server",
  ignore: serverTestsIgnored(),
});
