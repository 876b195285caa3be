/**
 * The provider validation suite on the PostgreSQL server at DATABASE_URL. Without DATABASE_URL
 * the tests are ignored, except in CI, where they run and fail.
 */

import { allValidationTests, registerValidationTests, shortPollingTests } from "../sim/mod.ts";
import { openServerFactory, serverFactoryWith, serverTestsIgnored } from "./_support/factories.ts";

registerValidationTests(allValidationTests, openServerFactory, {
  prefix: "server",
  ignore: serverTestsIgnored(),
});

// The short-poll variants of long_polling, against a provider with long polling disabled.
registerValidationTests(shortPollingTests, serverFactoryWith({ longPoll: { enabled: false } }), {
  prefix: "server short-poll",
  ignore: serverTestsIgnored(),
});
