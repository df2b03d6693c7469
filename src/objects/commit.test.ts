/**
 * The commit path, in a real object's storage: a change's events go out once, after the change
 * is stored; a change that throws leaves nothing stored and sends nothing. Every change that
 * makes events goes through it (`npm run lint` refuses `broadcast` and `transactionSync`
 * anywhere else), so this holds for each of them.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CommitPath } from "./commit";

const room = () => env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`commit-path/${crypto.randomUUID()}`));

describe("CommitPath", () => {
  it("sends a change's events after storing it, and nothing of a change that throws", async () => {
    await runInDurableObject(room(), async (_room, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE probe (n INTEGER)");
      const rows = () =>
        sql
          .exec<{ n: number }>("SELECT n FROM probe ORDER BY n")
          .toArray()
          .map((row) => row.n);
      const sent: { events: number[]; texts?: readonly string[]; rows: number[] }[] = [];
      const commit = new CommitPath<number>(state.storage, {
        broadcast: (events, texts) => sent.push({ events: [...events], texts, rows: rows() }),
      });

      const stored = commit.apply(() => {
        sql.exec("INSERT INTO probe VALUES (1)");
        return { events: [1], eventTexts: ["one"], extra: "kept" };
      });
      expect(stored.extra).toBe("kept");
      expect(sent).toEqual([{ events: [1], texts: ["one"], rows: [1] }]);

      expect(() =>
        commit.apply(() => {
          sql.exec("INSERT INTO probe VALUES (2)");
          if (rows().length) throw new Error("the change failed after its write");
          return { events: [2] };
        }),
      ).toThrow("the change failed after its write");
      expect(rows()).toEqual([1]);
      expect(sent).toHaveLength(1);

      // Nothing to send: no call at all.
      commit.apply(() => ({ events: [] }));
      expect(sent).toHaveLength(1);

      // Follow-ups run once the events are out.
      const seenByFollowUp: number[] = [];
      await commit.run(
        () => {
          sql.exec("INSERT INTO probe VALUES (3)");
          return { events: [3] };
        },
        async () => {
          seenByFollowUp.push(sent.length, ...rows());
        },
      );
      expect(seenByFollowUp).toEqual([2, 1, 3]);
    });
  });
});
