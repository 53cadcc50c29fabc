import { upgrade } from "lockstep";
import { runStatements } from "../sql.js";

/**
 * Expand: release 1.1.0 adds `display_name` and copies every name into it. Older code keeps
 * working on the data after it, because a trigger keeps both columns in step while releases
 * that write only one of them run side by side (1.0.0 writes `name`, 1.2.0 only
 * `display_name`). Release 1.1.0's code writes both and reads `display_name`.
 */
export default upgrade({
  version: "1.1.0",
  name: "add-display-name",
  description: "users.display_name, backfilled and kept in step with users.name",
  phase: "expand",
  async run(ctx) {
    await runStatements(ctx, {
      sqlite: [
        "alter table users add column display_name text",
        "update users set display_name = name",
        `create trigger users_sync_names_insert after insert on users
           when new.name is null or new.display_name is null
         begin
           update users set name = coalesce(new.name, new.display_name),
                            display_name = coalesce(new.display_name, new.name)
           where id = new.id;
         end`,
        `create trigger users_sync_name after update of name on users
           when new.display_name is old.display_name
         begin update users set display_name = new.name where id = new.id; end`,
        `create trigger users_sync_display_name after update of display_name on users
           when new.name is old.name
         begin update users set name = new.display_name where id = new.id; end`,
      ],
      postgres: [
        "alter table users add column display_name text",
        "update users set display_name = name",
        `create function users_sync_names() returns trigger language plpgsql as $$
         begin
           if tg_op = 'INSERT' then
             new.display_name := coalesce(new.display_name, new.name);
             new.name := coalesce(new.name, new.display_name);
           elsif new.name is distinct from old.name and new.display_name is not distinct from old.display_name then
             new.display_name := new.name;
           elsif new.display_name is distinct from old.display_name and new.name is not distinct from old.name then
             new.name := new.display_name;
           end if;
           return new;
         end $$`,
        `create trigger users_sync_names before insert or update on users
           for each row execute function users_sync_names()`,
      ],
      mysql: [
        "alter table users add column display_name varchar(200)",
        "update users set display_name = name",
        `create trigger users_sync_names_insert before insert on users for each row
           set new.display_name = coalesce(new.display_name, new.name),
               new.name = coalesce(new.name, new.display_name)`,
        `create trigger users_sync_names_update before update on users for each row
         begin
           if not (new.name <=> old.name) and (new.display_name <=> old.display_name) then
             set new.display_name = new.name;
           elseif not (new.display_name <=> old.display_name) and (new.name <=> old.name) then
             set new.name = new.display_name;
           end if;
         end`,
      ],
    });
  },
});
