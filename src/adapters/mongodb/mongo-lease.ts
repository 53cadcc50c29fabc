/**
 * The upgrade lease on MongoDB: what both lease algorithms share. MongoDB takes one lease
 * document with an atomic `findOneAndUpdate` (lease-document.ts); FerretDB 1.24, whose
 * conditional updates are not atomic, takes a chain of generation documents by inserting a
 * unique `_id` (lease-generations.ts). The adapter picks one per connection from
 * `serverInfo().atomicConditionalWrites`.
 */
import type * as Mongo from "mongodb";
import type { LeaseAttempt, LeaseHandle, LeaseInfo, LeaseRequest } from "../../core/adapter.js";
import { HeartbeatLease, type RenewOutcome } from "../heartbeat-lease.js";
import type { LeaseDoc } from "./documents.js";

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/** Where a lease store keeps the lease, and the clock it judges expiry by. */
export interface LeaseTarget {
  /** lockstep's lease collection. */
  readonly collection: Mongo.Collection<any>;
  /** The lease's `_id` (or, for generations, the `lease` field): `<app>_upgrade_lease`. */
  readonly leaseId: string;
  /** The server's clock. */
  now(): Promise<Date>;
  /** Handles still held, abandoned when the adapter closes. */
  readonly live: Set<MongoLease>;
}

/** One lease algorithm, picked once per connection. */
export interface MongoLeaseStore {
  /** How `describe()` names the algorithm. */
  readonly method: string;
  /**
   * The current holder, or null when the lease is free. Expiry is judged at `now` when given
   * (`readState()` passes the server's clock by its measured offset, saving a `hello`), else
   * by the server's clock read now.
   */
  read(now?: Date): Promise<LeaseInfo | null>;
  /** One atomic attempt to take the lease: free, expired, or already ours. */
  tryAcquire(request: LeaseRequest): Promise<LeaseAttempt>;
  /** Ends the current holder's lease (only `owner`'s, when given); returns what was ended. */
  break(options: { owner?: string }): Promise<LeaseInfo | null>;
  /**
   * True while `lease` still holds the lease. Inside a transaction (`session`) the single
   * document's check writes it, so a takeover racing our commit conflicts with it instead of
   * slipping in between the check and the commit.
   */
  isHeld(lease: LeaseHandle, session: Mongo.ClientSession | undefined): Promise<boolean>;
}

/** What a handle asks of its lease store: one heartbeat, and giving the lease back. */
export interface LeaseKeeper {
  renew(): Promise<RenewOutcome>;
  giveBack(): Promise<void>;
}

/** A held lease, renewed by the {@link HeartbeatLease} heartbeat at a third of its lifetime. */
export class MongoLease extends HeartbeatLease {
  /** Our generation document on FerretDB; null on MongoDB (one lease document). */
  readonly generation: number | null;
  readonly #live: Set<MongoLease>;
  readonly #keeper: LeaseKeeper;

  constructor(target: LeaseTarget, request: LeaseRequest, generation: number | null, keeper: LeaseKeeper) {
    super(request.owner);
    this.generation = generation;
    this.#live = target.live;
    this.#keeper = keeper;
    this.#live.add(this);
    this.startHeartbeat(request.ttlMs, () => keeper.renew());
  }

  async release(): Promise<void> {
    if (!this.stop()) return;
    this.#live.delete(this);
    try {
      await this.#keeper.giveBack();
    } catch {
      // Expiry frees it anyway.
    }
  }

  /** Stops the heartbeat without giving the lease back (the connection is closing): expiry frees it. */
  abandon(): void {
    if (this.stop()) this.#live.delete(this);
  }
}

/** The holder fields of a lease document, taken at `now` for `request.ttlMs`. */
export function leaseFields(request: LeaseRequest, now: Date): Omit<LeaseDoc, "_id"> {
  return {
    owner: request.owner,
    host: request.host,
    pid: request.pid,
    user: request.user,
    acquiredAt: now,
    expiresAt: expiresAfter(now, request.ttlMs),
  };
}

/** When a lease taken or renewed at `now` expires. */
export function expiresAfter(now: Date, ttlMs: number): Date {
  return new Date(now.getTime() + ttlMs);
}

/** True for MongoDB's duplicate key error (E11000): a unique `_id` was already taken. */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown }).code === DUPLICATE_KEY;
}
