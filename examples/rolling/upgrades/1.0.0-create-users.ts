import { upgrade } from "lockstep";
import { runStatements } from "../sql.js";

/**
 * Release 1.0.0 stores a user's name in `name`. The column is nullable so that, once 1.1.0's
 * expand step keeps `name` and `display_name` in step, a release that writes only
 * `display_name` can insert while `name` still exists.
 */
export default upgrade({
  version: "1.0.0",
  name: "create-users",
  description: "users(id, name)",
  async run(ctx) {
    await runStatements(ctx, {
      sqlite: ["create table users (id integer primary key autoincrement, name text)"],
      postgres: ["create table users (id bigserial primary key, name text)"],
      mysql: ["create table users (id bigint auto_increment primary key, name varchar(200))"],
    });
  },
});
