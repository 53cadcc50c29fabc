/**
 * How each release of the recipe app reads and writes users. The HTTP API is the same in
 * every release (`{ id, name }`); the columns behind it change:
 *
 * - 1.0.0 reads and writes `name`;
 * - 1.1.0 (after the expand step) writes `name` and `display_name`, reads `display_name`;
 * - 1.2.0 reads and writes only `display_name` (the contract step drops `name`).
 */

/** The queries of release `appVersion` (1.0.x, 1.1.x or 1.2.x and later). */
export function usersOf(appVersion, db) {
  const [major, minor] = appVersion.split(".").map(Number);
  const release = major > 1 || minor >= 2 ? "v1.2" : minor === 1 ? "v1.1" : "v1.0";
  const sql = {
    "v1.0": {
      insert: ["insert into users (name) values (?)", (name) => [name]],
      select: "select id, name from users where id = ?",
    },
    "v1.1": {
      insert: ["insert into users (name, display_name) values (?, ?)", (name) => [name, name]],
      select: "select id, display_name as name from users where id = ?",
    },
    "v1.2": {
      insert: ["insert into users (display_name) values (?)", (name) => [name]],
      select: "select id, display_name as name from users where id = ?",
    },
  }[release];
  return {
    release,
    /** Stores a user; resolves to `{ id, name }`. */
    async create(name) {
      const [statement, params] = sql.insert;
      return { id: await db.run(statement, params(name)), name };
    },
    /** The user with `id`, or undefined. */
    async find(id) {
      const row = await db.get(sql.select, [id]);
      return row && { id: Number(row.id), name: row.name };
    },
  };
}
