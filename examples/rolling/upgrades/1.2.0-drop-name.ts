import { upgrade } from "lockstep";
import { runStatements } from "../sql.js";

/**
 * Contract: release 1.2.0 reads and writes only `display_name`, so `name` and the triggers
 * that kept it in step go. This breaks 1.0.0's code, so lockstep defers it while a 1.0.0
 * (or 1.1.0) instance is live, and `lockstep upgrade --contract` applies it once they left.
 * Release 1.2.0's code does not need it: it runs before and after.
 */
export default upgrade({
  version: "1.2.0",
  name: "drop-name",
  description: "drop users.name (1.0.0 and 1.1.0 code reads it)",
  phase: "contract",
  async run(ctx) {
    await runStatements(ctx, {
      sqlite: [
        "drop trigger users_sync_names_insert",
        "drop trigger users_sync_name",
        "drop trigger users_sync_display_name",
        "update users set display_name = name where display_name is null",
        "alter table users drop column name",
      ],
      postgres: [
        "drop trigger users_sync_names on users",
        "drop function users_sync_names()",
        "update users set display_name = name where display_name is null",
        "alter table users drop column name",
      ],
      mysql: [
        "drop trigger users_sync_names_insert",
        "drop trigger users_sync_names_update",
        "update users set display_name = name where display_name is null",
        "alter table users drop column name",
      ],
    });
  },
});
