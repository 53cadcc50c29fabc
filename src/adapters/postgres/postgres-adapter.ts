import type { Adapter } from "../../core/adapter.js";
import { LockstepError } from "../../core/errors.js";

/** The PostgreSQL adapter (being written: replaced by the real one). */
export class PostgresAdapter {
  static fromUrl(_url: string): Adapter<any> {
    throw new LockstepError("E_UNSUPPORTED", "the PostgreSQL adapter is not available yet");
  }
}
