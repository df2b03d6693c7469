/**
 * A push's work grows linearly with what it carries: counted (Map steps and SQL statements),
 * never timed, for N and 8N new topics. A quadratic step here let one crawler's push of 64,000
 * new topics hold its account's object for ~20 s.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { comment, dm, push, uid } from "./helpers";

const N = 300;
/** Linear work for 8N is at most 8 times N's, with room for what does not scale with N. */
const LINEAR = 8 * 1.25;

type Counted = { mapSteps: number; statements: number };

const restores: (() => void)[] = [];
afterEach(() => {
  for (const restore of restores.splice(0)) restore();
});

/** Counts every step of every Map iteration in this isolate (the Worker's and the objects') until the returned stop. */
function count(): () => Counted {
  const counted: Counted = { mapSteps: 0, statements: 0 };
  const proto = Map.prototype as unknown as Record<string | symbol, (...args: unknown[]) => unknown>;
  for (const name of ["entries", "keys", "values", Symbol.iterator] as const) {
    const original = proto[name]!;
    proto[name] = function (this: Map<unknown, unknown>, ...args: unknown[]) {
      const iterator = original.apply(this, args) as Iterator<unknown>;
      return {
        next: () => {
          counted.mapSteps++;
          return iterator.next();
        },
        [Symbol.iterator]() {
          return this;
        },
      };
    };
    restores.push(() => (proto[name] = original));
  }
  const forEach = proto.forEach!;
  proto.forEach = function (this: Map<unknown, unknown>, callback: unknown, thisArg: unknown) {
    counted.mapSteps += this.size;
    return forEach.call(this, callback, thisArg);
  };
  restores.push(() => (proto.forEach = forEach));
  return () => {
    for (const restore of restores.splice(0)) restore();
    return counted;
  };
}

/** One push of `n` comments (or DMs), each on a work (or conversation) the account has never seen, counted. */
async function pushNewTopics(n: number, item: "comments" | "messages"): Promise<Counted> {
  const account = uid("cost");
  const items = Array.from({ length: n }, (_, i) =>
    item === "comments" ? comment(`c${i}`, `w${i}`) : dm(`m${i}`, `cv${i}`),
  );
  // The account exists before the counted push, so its creation is not counted.
  await push(account, {});
  const stub = env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${account}`));
  return countStatements(stub, async () => {
    const stop = count();
    const res = await push(account, { [item]: items });
    const counted = stop();
    expect(res.status).toBe(200);
    expect(res.json.counts[item].new).toBe(n);
    return counted;
  });
}

/** Runs `body` with the room's `sql.exec` counted too. */
async function countStatements(stub: DurableObjectStub, body: () => Promise<Counted>): Promise<Counted> {
  let statements = 0;
  let restore = () => {};
  await runInDurableObject(stub, (_room, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec;
    sql.exec = function (...args: Parameters<SqlStorage["exec"]>) {
      statements++;
      return exec.apply(sql, args);
    } as SqlStorage["exec"];
    restore = () => (sql.exec = exec);
  });
  try {
    const counted = await body();
    return { ...counted, statements };
  } finally {
    await runInDurableObject(stub, () => restore());
  }
}

describe("a push's work", () => {
  for (const item of ["comments", "messages"] as const) {
    it(`is linear in the number of new topics its ${item} open`, { timeout: 120_000 }, async () => {
      const small = await pushNewTopics(N, item);
      const large = await pushNewTopics(8 * N, item);
      expect(small.statements).toBeGreaterThan(0);
      expect(
        large.mapSteps,
        `Map steps: ${small.mapSteps} for ${N}, ${large.mapSteps} for ${8 * N}`,
      ).toBeLessThanOrEqual(LINEAR * small.mapSteps);
      expect(
        large.statements,
        `SQL statements: ${small.statements} for ${N}, ${large.statements} for ${8 * N}`,
      ).toBeLessThanOrEqual(LINEAR * small.statements);
    });
  }
});
