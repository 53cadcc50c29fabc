import type { Adapter } from "../../core/adapter.js";
import { LockstepError } from "../../core/errors.js";

/** The MySQL adapter (being written: replaced by the real one). */
export class MysqlAdapter {
  static fromUrl(_url: string): Adapter<any> {
    throw new LockstepError("E_UNSUPPORTED", "the MySQL adapter is not available yet");
  }
}
