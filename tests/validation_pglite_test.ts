/** The provider validation suite on embedded PGlite. */

import { allValidationTests, registerValidationTests, shortPollingTests } from "../sim/mod.ts";
import { openPgliteFactory, pgliteFactoryWith } from "./_support/factories.ts";

registerValidationTests(allValidationTests, openPgliteFactory, { prefix: "pglite" });

// The short-poll variants of long_polling, against a provider with long polling disabled.
registerValidationTests(shortPollingTests, pgliteFactoryWith({ longPoll: { enabled: false } }), {
  prefix: "pglite short-poll",
});
