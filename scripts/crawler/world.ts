/**
 * The simulated world behind the crawler: Douyin-like accounts with their works, comments,
 * DMs and notifications, and how these evolve over time.
 *
 * It is a pure function of (seed, account, time): comment i of an account arrives at a fixed
 * moment, so scraping "now" always shows the same items with the same fields, a restarted
 * crawler continues the same history instead of inventing a new one, and two runs with one
 * seed push identical snapshots. Nothing here does I/O; `scripts/crawler.ts` drives it.
 */
import { EMOJI, FAN_NAMES, FAN_REPLIES, GENERIC_COMMENTS, THEMES } from "./phrases";
import type { Theme } from "./phrases";

/** The world `npm run crawler` simulates unless `--seed` names another. */
export const DEFAULT_SEED = "hiscrm";

/** Where every stream of the simulated world starts counting. */
const ORIGIN = Date.UTC(2025, 0, 1);
const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Mean time between two items of a stream, for a pace-1 account. */
const GAPS = { work: 25 * MINUTE, comment: 7 * SECOND, dm: 13 * SECOND, notification: 30 * SECOND } as const;
type Stream = keyof typeof GAPS;

/** How much the crawler sees of an account at once (older items drop out of the window). */
export const WINDOW = { works: 4, comments: 40, messages: 30, conversations: 12, notifications: 10 } as const;

/** One simulated account: who it is on the platform and what it posts about. */
export type SimAccount = {
  id: string;
  name: string;
  platformUserId: string;
  avatar: string;
  theme: number;
  pace: number;
};

const KNOWN: Record<string, Omit<SimAccount, "id" | "avatar">> = {
  "douyin-1001": { name: "Brand A", platformUserId: "1001", theme: 0, pace: 1 },
  "douyin-2002": { name: "Brand B", platformUserId: "2002", theme: 1, pace: 1.5 },
};

/** The simulated account for an id: the two demo brands, or "Brand C", "Brand D"… for others. */
export function simAccount(id: string, index = 0): SimAccount {
  const known = KNOWN[id];
  const base = known ?? {
    name: `Brand ${String.fromCharCode(65 + ((index + 2) % 26))}`,
    platformUserId: id.replace(/\D/g, "").slice(-12) || String(hash32(id)),
    theme: index % THEMES.length,
    pace: 1 + (index % 3) * 0.5,
  };
  return { id, ...base, avatar: avatarUrl(base.name) };
}

/** The body of `POST /api/v1/accounts/:accountId/sync` (PROTOCOL §4). */
export type SnapshotBody = {
  type: "worker:data:sync";
  accountId: string;
  platform: "douyin";
  account: { name: string; avatar: string; platform_user_id: string };
  timestamp: number;
  snapshot: {
    contents: Record<string, unknown>[];
    comments: Record<string, unknown>[];
    conversations: Record<string, unknown>[];
    messages: Record<string, unknown>[];
    notifications: Record<string, unknown>[];
  };
};

/** 32-bit FNV-1a with a final avalanche: the world's only source of randomness. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const avatarUrl = (name: string) => `https://api.dicebear.com/9.x/thumbs/svg?seed=${encodeURIComponent(name)}`;
const seconds = (ms: number) => Math.floor(ms / 1000);

/** The simulated world of one account under one seed. */
class World {
  constructor(
    private readonly seed: string,
    private readonly account: SimAccount,
  ) {}

  /** A number in [0, 1) fixed by the seed, the account and `parts`. */
  rand(...parts: (string | number)[]): number {
    return hash32(`${this.seed}|${this.account.id}|${parts.join("|")}`) / 2 ** 32;
  }

  pick<T>(list: readonly T[], ...parts: (string | number)[]): T {
    return list[Math.floor(this.rand(...parts) * list.length)]!;
  }

  gap(stream: Stream): number {
    return GAPS[stream] * this.account.pace;
  }

  /** When item `k` of a stream appears: strictly increasing in k, about one per gap. */
  arrival(stream: Stream, k: number): number {
    return ORIGIN + Math.round((k + 0.05 + 0.9 * this.rand(stream, k)) * this.gap(stream));
  }

  /** The newest item of a stream that exists at `at` (-1: none yet). */
  last(stream: Stream, at: number): number {
    const k = Math.floor((at - ORIGIN) / this.gap(stream));
    if (k < 0) return -1;
    return this.arrival(stream, k) <= at ? k : k - 1;
  }

  get theme(): Theme {
    return THEMES[this.account.theme % THEMES.length]!;
  }

  fan(index: number) {
    const name = FAN_NAMES[index % FAN_NAMES.length]!;
    return { user_id: `u${100 + index}`, user_name: name, avatar: avatarUrl(name) };
  }

  get self() {
    return { user_id: this.account.platformUserId, user_name: this.account.name, avatar: this.account.avatar };
  }

  // Comments: a top-level comment on one of the newest works, a fan's reply to a recent
  // comment, or the brand answering one.

  commentKind(i: number): "top" | "fan-reply" | "brand-reply" {
    const r = this.rand("comment-kind", i);
    return r < 0.12 ? "brand-reply" : r < 0.27 ? "fan-reply" : "top";
  }

  /** The top-level comment a reply answers: a recent one, or none (then it is top-level itself). */
  parentOf(i: number): number | null {
    if (this.commentKind(i) === "top") return null;
    const back = 1 + Math.floor(this.rand("parent", i) * 6);
    for (let j = i - back; j >= 0 && j > i - 12; j--) if (this.commentKind(j) === "top") return j;
    return null;
  }

  /** Which work comment `i` is on: one of the four newest at the time, newest most likely. */
  commentWork(i: number): number {
    const parent = this.parentOf(i);
    const top = parent ?? i;
    const newest = this.last("work", this.arrival("comment", top));
    const r = this.rand("comment-work", top);
    const back = r < 0.45 ? 0 : r < 0.7 ? 1 : r < 0.88 ? 2 : 3;
    return Math.max(0, newest - back);
  }

  comment(i: number, at: number): Record<string, unknown> {
    const kind = this.commentKind(i);
    const parent = this.parentOf(i);
    const arrived = this.arrival("comment", i);
    const brand = kind === "brand-reply" && parent !== null;
    const author = brand ? this.self : this.fan(Math.floor(this.rand("comment-author", i) * FAN_NAMES.length));
    let content: string;
    if (brand) content = this.pick(this.theme.brandReplies, "brand-reply", i);
    else if (parent !== null) content = this.pick(FAN_REPLIES, "fan-reply", i);
    else {
      const pool = this.rand("comment-pool", i) < 0.5 ? this.theme.comments : GENERIC_COMMENTS;
      content = this.pick(pool, "comment-text", i);
      if (this.rand("comment-emoji", i) < 0.3) content += ` ${this.pick(EMOJI, "emoji", i)}`;
    }
    // Likes trickle in for a while after a comment appears, then stop: an occasional edit.
    const cap = Math.floor(this.rand("comment-likes", i) ** 2 * 25);
    const every = (20 + this.rand("comment-like-every", i) * 100) * SECOND;
    return {
      comment_id: `c${i}`,
      work_id: `w${this.commentWork(i)}`,
      content,
      author_id: author.user_id,
      author_name: author.user_name,
      author_avatar: author.avatar,
      create_time: seconds(arrived),
      parent_comment_id: parent === null ? null : `c${parent}`,
      like_count: Math.min(cap, Math.floor((at - arrived) / every)),
    };
  }

  /** Titles come round in a seed-shuffled order, so neighbouring works differ. */
  title(k: number): string {
    const titles = this.theme.titles;
    return titles[(k + Math.floor(this.rand("title-offset") * titles.length)) % titles.length]!;
  }

  work(k: number, at: number, commentCount: number): Record<string, unknown> {
    const published = this.arrival("work", k);
    const baseLikes = Math.floor(this.rand("work-likes", k) * 800) + 20;
    const likeEvery = (30 + this.rand("work-like-every", k) * 60) * SECOND;
    return {
      work_id: `w${k}`,
      title: this.title(k),
      cover: `https://picsum.photos/seed/${this.account.id}-w${k}/540/720`,
      publish_time: seconds(published),
      stats: { comment_count: commentCount, like_count: baseLikes + Math.floor((at - published) / likeEvery) },
    };
  }

  // DMs: fans write in, the brand answers whoever wrote last.

  dmOut(j: number): boolean {
    return this.rand("dm-out", j) < 0.3;
  }

  /** The conversation (fan index) DM `j` belongs to. */
  dmFan(j: number): number {
    let k = j;
    while (k > 0 && k > j - 20 && this.dmOut(k)) k--;
    // Each account has a dozen regular DM correspondents, some chattier than others.
    const slot = Math.floor(this.rand("dm-fan", k) ** 1.3 * 12);
    return Math.floor(this.rand("dm-fan-pool", slot) * FAN_NAMES.length);
  }

  dm(j: number): Record<string, unknown> {
    const out = this.dmOut(j);
    const fan = this.fan(this.dmFan(j));
    const image = this.rand("dm-image", j) < (out ? 0.05 : 0.12);
    return {
      msg_id: `m${j}`,
      conversation_id: `cv-${fan.user_id}`,
      content: image ? "[图片]" : this.pick(out ? this.theme.dmOut : this.theme.dmIn, "dm-text", j),
      msg_type: image ? "image" : "text",
      sender: out ? this.self : fan,
      direction: out ? "out" : "in",
      create_time: seconds(this.arrival("dm", j)),
      file_url: image ? `https://picsum.photos/seed/${this.account.id}-m${j}/640/480` : null,
      file_name: image ? `IMG_${String(j).slice(-4).padStart(4, "0")}.jpg` : null,
    };
  }

  notification(n: number): Record<string, unknown> {
    const fan = this.fan(Math.floor(this.rand("notification-fan", n) * FAN_NAMES.length));
    const arrived = this.arrival("notification", n);
    const work = this.last("work", arrived);
    const title = this.title(work);
    const r = this.rand("notification-type", n);
    const base = { notification_id: `n${n}`, create_time: seconds(arrived) };
    if (r < 0.5)
      return { ...base, type: "like", title: `${fan.user_name} 赞了你的作品`, content: title, related_id: `w${work}` };
    if (r < 0.75)
      return { ...base, type: "follow", title: `${fan.user_name} 关注了你`, content: "", related_id: fan.user_id };
    if (r < 0.9) {
      return {
        ...base,
        type: "mention",
        title: `${fan.user_name} 在评论中提到了你`,
        content: this.pick(GENERIC_COMMENTS, "mention", n),
        related_id: `w${work}`,
      };
    }
    return {
      ...base,
      type: "system",
      title: "创作者小助手",
      content: `你的作品《${title}》播放量突破 1 万 🎉`,
      related_id: `w${work}`,
    };
  }
}

const range = (from: number, to: number): number[] => {
  const list: number[] = [];
  for (let i = Math.max(0, from); i <= to; i++) list.push(i);
  return list;
};

/**
 * The snapshot a crawler scraping `account` at time `at` (ms) would push: the newest works,
 * comments, DMs, conversations and notifications, as they are at that moment. Pure: the
 * same (account, at, seed) always gives the same body.
 * @example
 * generateSnapshot(simAccount("douyin-1001"), Date.now())
 */
export function generateSnapshot(account: SimAccount, at: number, seed = DEFAULT_SEED): SnapshotBody {
  const world = new World(seed, account);

  const commentIds = range(world.last("comment", at) - WINDOW.comments + 1, world.last("comment", at));
  const comments = commentIds.map((i) => world.comment(i, at));

  // The newest works, plus any older work a comment in the window is on (a crawler scrapes
  // comments per work, so it always knows their work).
  const newestWork = world.last("work", at);
  const workIds = new Set(range(newestWork - WINDOW.works + 1, newestWork));
  for (const comment of comments) workIds.add(Number(String(comment.work_id).slice(1)));
  const oldestWork = Math.min(...workIds);
  const commentCounts = new Map<number, number>();
  // Every comment on these works arrived after the oldest of them was published.
  for (const i of range(world.last("comment", world.arrival("work", oldestWork)) + 1, world.last("comment", at))) {
    const k = world.commentWork(i);
    commentCounts.set(k, (commentCounts.get(k) ?? 0) + 1);
  }
  const contents = [...workIds].sort((a, b) => b - a).map((k) => world.work(k, at, commentCounts.get(k) ?? 0));

  const lastDm = world.last("dm", at);
  const messages = range(lastDm - WINDOW.messages + 1, lastDm).map((j) => world.dm(j));

  // Conversations: the fans who wrote lately, newest first, with what is still unanswered.
  const threads = new Map<string, { participant: Record<string, unknown>; unread: number; updated: number }>();
  for (const j of range(lastDm - 199, lastDm)) {
    const dm = world.dm(j);
    const id = dm.conversation_id as string;
    const thread = threads.get(id) ?? { participant: world.fan(world.dmFan(j)), unread: 0, updated: 0 };
    thread.unread = dm.direction === "out" ? 0 : thread.unread + 1;
    thread.updated = dm.create_time as number;
    threads.set(id, thread);
  }
  const conversations = [...threads.entries()]
    .sort(([, a], [, b]) => b.updated - a.updated)
    .slice(0, WINDOW.conversations)
    .map(([id, t]) => ({
      conversation_id: id,
      participant: t.participant,
      unread_count: t.unread,
      update_time: t.updated,
    }));

  const lastNotification = world.last("notification", at);
  const notifications = range(lastNotification - WINDOW.notifications + 1, lastNotification).map((n) =>
    world.notification(n),
  );

  return {
    type: "worker:data:sync",
    accountId: account.id,
    platform: "douyin",
    account: { name: account.name, avatar: account.avatar, platform_user_id: account.platformUserId },
    timestamp: at,
    snapshot: { contents, comments, conversations, messages, notifications },
  };
}
