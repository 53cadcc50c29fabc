import type { Adapter } from "../../core/adapter.js";
import { LockstepError } from "../../core/errors.js";

/** The MongoDB adapter (being written: replaced by the real one). */
export class MongoAdapter {
  static fromUrl(_url: string): Adapter<any> {
    throw new LockstepError("E_UNSUPPORTED", "the MongoDB adapter is not available yet");
  }
}
