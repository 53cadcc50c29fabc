/**
 * The instance registry on MongoDB: collection `lockstep_instances` (configurable), one
 * document per running copy of the app, `_id` = the instance's id:
 * `{ _id, appVersion, host, pid, owner, startedAt, lastSeen, expiresAt }`, times as BSON
 * dates. Nothing secret: no URL, user or environment.
 *
 * Times are the server's: `lastSeen` and `expiresAt` come from the {@link ServerClock}
 * (`hello.localTime` read when the adapter opened, advanced by this process's monotonic
 * clock), and `listInstances()` judges expiry by the same clock. So registering and
 * refreshing are ONE command (an upserting `update`), where asking the server for its time
 * first would be two: `$currentDate` can set `lastSeen` but not `lastSeen + ttl`, MongoDB
 * refuses `$$NOW` in an upsert's filter and FerretDB 1.24 refuses update pipelines (the only
 * way to let the server compute a time). Machines whose clocks disagree still agree on
 * expiry, to within half a `hello` round trip each.
 *
 * The collection is created by the first registration (an upsert creates it, outside any
 * transaction); it is not one of lockstep's store parts, so a store without it is not damaged.
 */
import type * as Mongo from "mongodb";
import type { InstanceInfo, InstanceRecord } from "../../core/adapter.js";
import { iso } from "../util.js";
import type { ServerClock } from "./server-info.js";

/** One instance in `lockstep_instances`. */
export interface InstanceDoc {
  _id: string;
  appVersion: string;
  host: string;
  pid: number;
  owner: string;
  startedAt: Date;
  lastSeen: Date;
  expiresAt: Date;
}

/** Records `instance` as live for `ttlMs` from now by the server's clock, or refreshes it: one `update`. */
export async function registerInstance(
  collection: Mongo.Collection<InstanceDoc>,
  clock: ServerClock,
  instance: InstanceRecord,
  ttlMs: number,
): Promise<void> {
  const now = clock.now();
  await collection.updateOne(
    { _id: instance.id },
    {
      $set: {
        appVersion: instance.appVersion,
        host: instance.host,
        pid: instance.pid,
        owner: instance.owner,
        startedAt: new Date(instance.startedAt),
        lastSeen: now,
        expiresAt: new Date(now.getTime() + ttlMs),
      },
    },
    { upsert: true },
  );
}

/** Removes one instance; a missing one (or a missing registry) is not an error. */
export async function removeInstance(collection: Mongo.Collection<InstanceDoc>, id: string): Promise<void> {
  await collection.deleteOne({ _id: id });
}

/** Every recorded instance, expired ones included, judged by the server's clock; [] without a registry. */
export async function listInstances(
  collection: Mongo.Collection<InstanceDoc>,
  clock: ServerClock,
): Promise<InstanceInfo[]> {
  const docs = await collection.find({}).sort({ startedAt: 1, _id: 1 }).toArray();
  const now = clock.now().getTime();
  return docs.map((d) => fromInstanceDoc(d, now));
}

/** The instance a registry document records, aged by `now` (ms, the server's clock). */
export function fromInstanceDoc(d: InstanceDoc, now: number): InstanceInfo {
  const lastSeen = new Date(d.lastSeen).getTime();
  return {
    id: d._id,
    appVersion: d.appVersion,
    host: d.host,
    pid: d.pid,
    owner: d.owner,
    startedAt: iso(d.startedAt),
    lastSeen: iso(d.lastSeen),
    ageMs: Math.max(0, now - lastSeen),
    expired: new Date(d.expiresAt).getTime() < now,
  };
}
