/**
 * FerretDB's lease: a chain of generation documents.
 *
 * FerretDB 1.24 evaluates an update's filter, then writes the document back by `_id`: two
 * `findOneAndUpdate`s on one expired lease both "win" (measured: 8 racers, up to 8 winners).
 * Only an insert's unique `_id` is atomic there, so the lease is a chain of generation
 * documents `{ _id: "<leaseId>#<n>", gen: n }`: the newest one is the lease, and taking it
 * over (or releasing or breaking it) is inserting generation n+1, which exactly one racer
 * can do. The read of generation n only chooses n+1; the insert decides.
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

/** One link of the chain; `owner` null once released or broken. */
interface GenerationDoc extends Omit<LeaseDoc, "owner"> {
  lease: string;
  gen: number;
  owner: string | null;
}

/** A link held by someone. */
type HeldGeneration = GenerationDoc & LeaseDoc;

/** The lease as a chain of generation documents, for servers whose conditional updates are not atomic. */
export class GenerationChainLease implements MongoLeaseStore {
  readonly method = "a chain of lease documents, taken over by inserting the next generation (unique _id)";
  readonly #target: LeaseTarget;

  constructor(target: LeaseTarget) {
    this.#target = target;
  }

  get #lease(): Mongo.Collection<GenerationDoc> {
    return this.#target.collection;
  }

  /** The newest generation document of the lease. */
  #latest(): Promise<GenerationDoc | null> {
    return this.#lease.find({ lease: this.#target.leaseId }).sort({ gen: -1 }).limit(1).next();
  }

  async read(at?: Date): Promise<LeaseInfo | null> {
    const [latest, now] = await Promise.all([this.#latest(), at ?? this.#target.now()]);
    return hasHolder(latest) ? fromLeaseDoc(latest, now) : null;
  }

  async tryAcquire(request: LeaseRequest): Promise<LeaseAttempt> {
    const [latest, now] = await Promise.all([this.#latest(), this.#target.now()]);
    if (hasHolder(latest) && latest.owner !== request.owner && latest.expiresAt >= now) {
      return { heldBy: fromLeaseDoc(latest, now) };
    }
    if (latest && latest.owner === request.owner) {
      // Already ours: renewed in place (only the holder writes its own generation).
      await this.#lease.updateOne(
        { _id: latest._id },
        { $set: { expiresAt: expiresAfter(now, request.ttlMs) } },
      );
      return { lease: this.#handle(request, latest.gen) };
    }
    const gen = (latest?.gen ?? 0) + 1;
    const inserted = await this.#insert(gen, leaseFields(request, now));
    // A racer that read a generation long gone can insert a number already deleted below the
    // newest one: that link is not the lease.
    if (!inserted || (await this.#latest())?.gen !== gen) {
      return { heldBy: await this.read().catch(() => null) };
    }
    return { lease: this.#handle(request, gen) };
  }

  #handle(request: LeaseRequest, gen: number): MongoLease {
    return new MongoLease(this.#target, request, gen, {
      renew: () => this.#renew(request.owner, request.ttlMs, gen),
      giveBack: () => this.#release(request.owner, gen),
    });
  }

  /** Inserts generation `gen`; false when another process inserted it first. */
  async #insert(gen: number, fields: Omit<GenerationDoc, "_id" | "lease" | "gen">): Promise<boolean> {
    const leaseId = this.#target.leaseId;
    try {
      await this.#lease.insertOne({ _id: `${leaseId}#${gen}`, lease: leaseId, gen, ...fields });
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
    // Older generations are superseded for good: only the newest one is ever read.
    await this.#lease.deleteMany({ lease: leaseId, gen: { $lt: gen } }).catch(() => undefined);
    return true;
  }

  /** Renews generation `gen` by the server's clock; lost when a newer generation ended it. */
  async #renew(owner: string, ttlMs: number, gen: number): Promise<RenewOutcome> {
    const now = await this.#target.now();
    // Only the holder writes its own generation document; takeovers insert new ones.
    const latest = await this.#latest();
    if (latest?.gen !== gen || latest.owner !== owner) return "lost";
    await this.#lease.updateOne({ _id: latest._id }, { $set: { expiresAt: expiresAfter(now, ttlMs) } });
    return "ok";
  }

  /** Ends generation `gen` with a tombstone if `owner` still holds it. */
  async #release(owner: string, gen: number): Promise<void> {
    const latest = await this.#latest();
    if (latest?.gen === gen && latest.owner === owner) {
      await this.#insert(gen + 1, tombstone(await this.#target.now()));
    }
  }

  async break(options: { owner?: string }): Promise<LeaseInfo | null> {
    const [latest, now] = await Promise.all([this.#latest(), this.#target.now()]);
    if (!hasHolder(latest)) return null;
    if (options.owner !== undefined && latest.owner !== options.owner) return null;
    const broken = await this.#insert(latest.gen + 1, tombstone(now));
    return broken ? fromLeaseDoc(latest, now) : null;
  }

  async isHeld(lease: LeaseHandle): Promise<boolean> {
    const latest = await this.#latest();
    const generation = lease instanceof MongoLease ? lease.generation : latest?.gen;
    return latest !== null && latest.gen === generation && latest.owner === lease.owner;
  }
}

/** True when `doc` is a link someone holds (not a tombstone). */
function hasHolder(doc: GenerationDoc | null): doc is HeldGeneration {
  return doc !== null && doc.owner !== null;
}

/** A generation that ends the chain's current holder: released or broken. */
function tombstone(now: Date): Omit<GenerationDoc, "_id" | "lease" | "gen"> {
  return { owner: null, host: "", pid: 0, user: "", acquiredAt: now, expiresAt: now };
}
