/**
 * MongoDB's lease: one document, `_id: "<app>_upgrade_lease"`, taken, renewed and released by
 * single atomic writes filtered on its owner (or its expiry).
 */
import type * as Mongo from "mongodb";
import type { LeaseAttempt, LeaseHandle, LeaseInfo, LeaseRequest } from "../../core/adapter.js";
import type { RenewOutcome } from "../heartbeat-lease.js";
import { fromLeaseDoc, type LeaseDoc } from "./documents.js";
import {
  expiresAfter,
  isDuplicateKey,
  type LeaseTarget,
  leaseFields,
  MongoLease,
  type MongoLeaseStore,
} from "./mongo-lease.js";

/** The lease as one document, for servers whose conditional updates are atomic. */
export class SingleDocumentLease implements MongoLeaseStore {
  readonly method = "a lease document taken by one atomic findOneAndUpdate";
  readonly #target: LeaseTarget;

  constructor(target: LeaseTarget) {
    this.#target = target;
  }

  get #lease(): Mongo.Collection<LeaseDoc> {
    return this.#target.collection;
  }

  async read(at?: Date): Promise<LeaseInfo | null> {
    const [doc, now] = await Promise.all([
      this.#lease.findOne({ _id: this.#target.leaseId }),
      at ?? this.#target.now(),
    ]);
    return doc ? fromLeaseDoc(doc, now) : null;
  }

  async tryAcquire(request: LeaseRequest): Promise<LeaseAttempt> {
    // Server time read first: MongoDB refuses `$expr` (hence `$$NOW`) in an upsert's filter,
    // and FerretDB 1.24 refuses update pipelines altogether. Reading the time before the
    // update makes expiry slightly stricter (never a takeover before the server says so).
    const now = await this.#target.now();
    try {
      const taken = await this.#lease.findOneAndUpdate(
        { _id: this.#target.leaseId, $or: [{ expiresAt: { $lt: now } }, { owner: request.owner }] },
        { $set: leaseFields(request, now) },
        { upsert: true, returnDocument: "after" },
      );
      if (taken && taken.owner === request.owner) return { lease: this.#handle(request) };
    } catch (error) {
      // The document exists and is neither expired nor ours: the upsert's insert collides.
      if (!isDuplicateKey(error)) throw error;
    }
    return { heldBy: await this.read().catch(() => null) };
  }

  #handle(request: LeaseRequest): MongoLease {
    return new MongoLease(this.#target, request, null, {
      renew: () => this.#renew(request.owner, request.ttlMs),
      giveBack: async () => {
        await this.#lease.deleteOne({ _id: this.#target.leaseId, owner: request.owner });
      },
    });
  }

  /** Renews `owner`'s lease by the server's clock; lost when another owner has it now. */
  async #renew(owner: string, ttlMs: number): Promise<RenewOutcome> {
    const expiresAt = expiresAfter(await this.#target.now(), ttlMs);
    const result = await this.#lease.updateOne({ _id: this.#target.leaseId, owner }, { $set: { expiresAt } });
    return result.matchedCount === 1 ? "ok" : "lost";
  }

  async break(options: { owner?: string }): Promise<LeaseInfo | null> {
    const filter: Mongo.Filter<LeaseDoc> = { _id: this.#target.leaseId };
    if (options.owner !== undefined) filter.owner = options.owner;
    const [removed, now] = await Promise.all([this.#lease.findOneAndDelete(filter), this.#target.now()]);
    return removed ? fromLeaseDoc(removed, now) : null;
  }

  async isHeld(lease: LeaseHandle, session: Mongo.ClientSession | undefined): Promise<boolean> {
    const result = await this.#lease.updateOne(
      { _id: this.#target.leaseId, owner: lease.owner },
      { $currentDate: { checkedAt: true } },
      session ? { session } : {},
    );
    return result.matchedCount === 1;
  }
}
