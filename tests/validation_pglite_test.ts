/** The provider validation suite on embedded PGlite. */

import { allValidationTests, registerValidationTests } from "../sim/mod.ts";
import { openPgliteFactory } from "./_support/factories.ts";

registerValidationTests(allValidationTests, openPgliteFactory, { prefix: "pglite" });
