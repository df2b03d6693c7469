/**
 * `npm run crawler -- [--url http://127.0.0.1:8787] [--tenant demo] [--interval 3] [--once] [--accounts a,b] [--seed s]`
 *
 * A simulated crawler: every few seconds it re-scrapes a window of each account (the latest
 * works, comments, DMs, notifications) and pushes it as a full snapshot (PROTOCOL §4).
 *
 * The simulated world is a pure function of (seed, account, time): comment i of an account
 * arrives at a fixed moment, so pushing "now" always shows the same items with the same
 * fields, a restart continues the same history instead of inventing a new one, and two runs
 * with one seed push identical snapshots.
 */
import { ACCOUNT_ID_RE } from "../src/protocol";
import { isMain, parseFlags, runMain, sleep, UsageError } from "./cli";
import { devSecret, mintToken, parseAccountList } from "./token";

export const CRAWLER_USAGE = `usage: npm run crawler -- [--url <base>] [--tenant <tid>] [--interval <seconds>] [--once] [--accounts a,b] [--seed <text>]

  --url       the backend (default http://127.0.0.1:8787)
  --tenant    tenant to push into (default demo)
  --interval  seconds between pushes (default 3)
  --once      push one snapshot per account and exit (non-zero if a push failed)
  --accounts  account ids to simulate (default douyin-1001,douyin-2002)
  --seed      seed of the simulated world (default hiscrm); same seed, same content`;

export const DEFAULT_ACCOUNTS = ["douyin-1001", "douyin-2002"];
export const DEFAULT_SEED = "hiscrm";

// ---------------------------------------------------------------------------
// The simulated world (pure)

/** Where every stream of the simulated world starts counting. */
const ORIGIN = Date.UTC(2025, 0, 1);
const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Mean time between two items of a stream, for a pace-1 account. */
const GAPS = { work: 25 * MINUTE, comment: 7 * SECOND, dm: 13 * SECOND, notification: 30 * SECOND } as const;
type Stream = keyof typeof GAPS;

/** How much the crawler sees of an account at once (older items drop out of the window). */
export const WINDOW = { works: 4, comments: 40, messages: 30, conversations: 12, notifications: 10 } as const;

type Theme = {
  topic: string;
  titles: string[];
  comments: string[];
  brandReplies: string[];
  dmIn: string[];
  dmOut: string[];
};

const THEMES: Theme[] = [
  {
    topic: "beauty",
    titles: [
      "秋冬干皮救星｜这瓶面霜我回购了 5 次 #护肤 #好物分享",
      "3 分钟伪素颜妆教程 💄 新手也能学会",
      "新品口红试色：枫叶红 vs 奶茶棕，你选哪支？",
      "Morning skincare routine in 5 steps ✨",
      "敏感肌也能用的防晒大测评 #防晒",
      "直播预告：周五晚 8 点福利专场 🎁",
      "化妆包里的 10 件常驻好物",
      "Night routine for dry skin 🌙",
    ],
    comments: [
      "这个色号黄皮能用吗？",
      "敏感肌可以用吗 🥺",
      "油皮姐妹表示很需要",
      "Does it work for oily skin?",
      "已经用空两瓶了，真的好用 👍",
      "求同款眼影盘！",
      "What shade is this? 😍",
      "主播皮肤也太好了吧 ✨",
    ],
    brandReplies: [
      "谢谢喜欢～ 链接在橱窗哦 💕",
      "亲，敏感肌也可以用的，建议先在耳后试用一下～",
      "Thanks! The link is in our profile 🛍️",
      "黄皮姐妹闭眼入枫叶红 🍁",
      "感谢支持，我们会继续努力的 🙏",
    ],
    dmIn: [
      "你好，请问这款面霜还有货吗？",
      "订单什么时候发货呀？",
      "Hi, do you ship to Hong Kong?",
      "收到了，很喜欢！💕",
      "可以便宜一点吗 🙏",
      "买两瓶送什么赠品？",
      "我的快递好像丢了 😭 单号 SF1234567890",
      "Is this product cruelty-free?",
    ],
    dmOut: [
      "亲，有货的哦～ 现在下单 48 小时内发货 🚚",
      "您好，已为您催促仓库，今天会发出～",
      "Hi! Yes, we ship to HK, about 3–5 days 😊",
      "买二送旅行装小样一份哦 🎁",
      "非常抱歉，我们马上帮您查询物流 🙏",
    ],
  },
  {
    topic: "coffee",
    titles: [
      "在家做一杯丝绒拿铁 ☕ #咖啡教程",
      "新店开业！第二杯半价 🎉",
      "冷萃 vs 手冲，你站哪边？",
      "Latte art fails compilation 😂",
      "秋季限定：桂花燕麦拿铁 🌼",
      "探店｜藏在胡同里的咖啡馆",
      "一分钟看懂意式浓缩",
      "Barista day in the life ☕️",
    ],
    comments: [
      "看饿了 🤤",
      "哪家店？地址求告诉",
      "燕麦奶换成牛奶可以吗",
      "Is it very sweet?",
      "周末就去打卡 📸",
      "拉花好厉害！",
      "Need this right now ☕",
      "桂花味会不会太浓？",
    ],
    brandReplies: [
      "感谢支持！地址在主页哦 ☕",
      "可以的～ 换成牛奶口感更醇厚",
      "Not too sweet, promise 😊",
      "欢迎来店里坐坐，报暗号“抖音”送曲奇 🍪",
      "桂花香很淡很清爽，放心冲～",
    ],
    dmIn: [
      "请问周末营业吗？",
      "可以预定包场吗？大概 20 人",
      "Do you have oat milk?",
      "外卖可以送到公司吗",
      "会员卡怎么办理？",
      "今天的拿铁有点凉了 😢",
      "Can I bring my dog? 🐶",
    ],
    dmOut: [
      "周末 9:00–22:00 正常营业哦",
      "可以的～ 请留下电话，店长联系您",
      "Yes! Oat milk is free of charge 🌾",
      "非常抱歉！下次到店送您一杯，报您的抖音名就好 🙏",
      "会员卡在小程序里就能开通哦",
    ],
  },
];

const FAN_NAMES = [
  "小明",
  "Lily🌸",
  "阿杰 Jay",
  "奶茶不加糖",
  "Kevin Zhang",
  "🐼熊猫阿宝",
  "Momo",
  "旅行的猫",
  "Sarah Lee",
  "一只小胖橘🍊",
  "夏天的风",
  "Chloe ✨",
  "王大锤",
  "追光的人",
  "Tom",
  "糖糖 Candy",
  "深夜食堂",
  "Vivian Wu",
  "橘子汽水",
  "David Chen",
  "早睡早起",
  "Mia💄",
  "阿宝今天也要加油",
  "Jason",
];
const FAN_REPLIES = [
  "同问！",
  "+1",
  "我也想知道 🤔",
  "哈哈哈真的",
  "楼上说得对",
  "Same here!",
  "蹲一个回复",
  "真的假的 😮",
];
const EMOJI = ["😍", "😂", "👍", "🔥", "💕", "✨", "🙏", "🥰", "👏", "🤩"];

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

const GENERIC_COMMENTS = [
  "好喜欢这个视频 😍",
  "第一！",
  "求链接 🙏",
  "Love this! 💕",
  "多少钱呀？",
  "已关注，期待更新",
  "哈哈哈哈哈笑死我了 😂",
  "这个是真的好用吗？",
  "Where can I buy this?",
  "太好看了吧 ✨",
  "已下单，坐等收货 📦",
  "Great video, thanks for sharing!",
];

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

// ---------------------------------------------------------------------------
// Pushing (I/O)

export type CrawlerOptions = {
  url: string;
  tenant: string;
  intervalMs: number;
  once: boolean;
  accounts: string[];
  seed: string;
};

const CRAWLER_FLAGS = {
  url: "string",
  tenant: "string",
  interval: "string",
  once: "boolean",
  accounts: "string",
  seed: "string",
} as const;

/** Parses and checks a base URL flag (http or https; no trailing slash kept). */
export function parseBaseUrl(text: string, flag = "--url"): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} must be a URL like http://127.0.0.1:8787 (got ${JSON.stringify(text)})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${flag} must start with http:// or https:// (got ${JSON.stringify(text)})`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Parses the crawler's arguments (see CRAWLER_USAGE). */
export function parseCrawlerArgs(argv: readonly string[]): CrawlerOptions {
  const { flags } = parseFlags(argv, CRAWLER_FLAGS);
  const tenant = flags.tenant ?? "demo";
  if (!ACCOUNT_ID_RE.test(tenant))
    throw new UsageError(`--tenant must be 1–128 characters of A–Z a–z 0–9 : _ . - (got ${JSON.stringify(tenant)})`);
  const interval = flags.interval === undefined ? 3 : Number(flags.interval);
  if (!Number.isFinite(interval) || interval < 0.1 || interval > 3600) {
    throw new UsageError(
      `--interval must be a number of seconds from 0.1 to 3600 (got ${JSON.stringify(flags.interval)})`,
    );
  }
  return {
    url: parseBaseUrl(flags.url ?? "http://127.0.0.1:8787"),
    tenant,
    intervalMs: Math.round(interval * 1000),
    once: flags.once ?? false,
    accounts: flags.accounts === undefined ? DEFAULT_ACCOUNTS : parseAccountList(flags.accounts, "--accounts"),
    seed: flags.seed ?? DEFAULT_SEED,
  };
}

type KindCounts = { received: number; new: number; updated: number };
export type PushResponse = {
  ok: true;
  seq: number;
  counts: Partial<Record<keyof SnapshotBody["snapshot"], KindCounts>>;
  rejected: { kind: string; index: number; issues: { path: string; message: string }[] }[];
};

const NOUNS: Record<keyof SnapshotBody["snapshot"], [string, string]> = {
  contents: ["work", "works"],
  comments: ["comment", "comments"],
  conversations: ["conversation", "conversations"],
  messages: ["DM", "DMs"],
  notifications: ["notification", "notifications"],
};

/** "douyin-1001 Brand A   seq 57   new 2 comments, 1 DM   updated 3" — one push, one line. */
export function describePush(account: SimAccount, response: PushResponse): string {
  const fresh: string[] = [];
  let updated = 0;
  for (const [kind, [one, many]] of Object.entries(NOUNS) as [keyof typeof NOUNS, [string, string]][]) {
    const counts = response.counts[kind];
    if (!counts) continue;
    if (counts.new) fresh.push(`${counts.new} ${counts.new === 1 ? one : many}`);
    updated += counts.updated;
  }
  const parts = [`${account.id} ${account.name}`.padEnd(22), `seq ${String(response.seq).padStart(5)}`];
  if (fresh.length) parts.push(`new ${fresh.join(", ")}`);
  if (updated) parts.push(`updated ${updated}`);
  if (!fresh.length && !updated) parts.push("no changes");
  if (response.rejected.length) {
    const first = response.rejected[0]!;
    const issue = first.issues[0];
    parts.push(
      `⚠ ${response.rejected.length} rejected (${first.kind}[${first.index}]${issue ? `.${issue.path}: ${issue.message}` : ""})`,
    );
  }
  return parts.join("   ");
}

export type CrawlerRun = {
  /** Where the lines go (default console.log). */
  log?: (line: string) => void;
  /** Stops the crawler (between pushes, or aborting the one in flight). */
  signal?: AbortSignal;
  /** The signing secret (default: the local development secret, as `npm run token` finds it). */
  secret?: string;
  /** In `once` mode, how long to wait for a backend that is not up yet (default 60 s). */
  waitMs?: number;
  /** How often to try again while the backend is not up (default 2 s). */
  retryMs?: number;
  /** Called after every successful push. */
  onPush?: (account: SimAccount, response: PushResponse) => void;
};

class PushError extends Error {}
/**
 * 502, 503 or 504: no backend behind the address right now. `wrangler dev` answers 503 while it
 * reloads, and its local proxy now and then with "Your worker restarted mid-request". A push
 * sent again is harmless (a repeated snapshot changes nothing), so these are waited out.
 */
class UnavailableError extends PushError {}

function timeOfDay(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** Why a fetch never got an answer, in words: "connection refused" rather than "fetch failed". */
function unreachableReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (error instanceof UnavailableError) return error.message;
  if (cause?.code === "ECONNREFUSED") return "connection refused";
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function pushOnce(url: string, token: string, body: SnapshotBody, signal?: AbortSignal): Promise<PushResponse> {
  const response = await fetch(`${url}/api/v1/accounts/${encodeURIComponent(body.accountId)}/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: shown below as it came.
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    let message = `HTTP ${response.status}${error?.code ? ` ${error.code}` : ""}: ${error?.message ?? text.slice(0, 200)}`;
    if (response.status === 401)
      message += " (does the crawler sign with the backend's AUTH_SECRET? see docs/RUNNING.md)";
    throw new ([502, 503, 504].includes(response.status) ? UnavailableError : PushError)(message);
  }
  return json as PushResponse;
}

/**
 * Pushes snapshots of every account until `signal` aborts (or once, with `once`). Waits for a
 * backend that is not up yet, saying so once. Resolves to whether every push succeeded.
 */
export async function runCrawler(options: CrawlerOptions, run: CrawlerRun = {}): Promise<boolean> {
  const { log = console.log, signal, waitMs = 60_000, retryMs = 2_000, onPush } = run;
  const secret = run.secret ?? devSecret().secret;
  const accounts = options.accounts.map((id, index) => simAccount(id, index));
  let allOk = true;
  let unreachableSince: number | null = null;
  while (!signal?.aborted) {
    const token = await mintToken({ role: "crawler", tenant: options.tenant, sub: "crawler-sim", ttl: 3600 }, secret);
    let retry = false;
    for (const account of accounts) {
      if (signal?.aborted) break;
      try {
        const response = await pushOnce(
          options.url,
          token,
          generateSnapshot(account, Date.now(), options.seed),
          signal,
        );
        if (unreachableSince !== null) log(`${timeOfDay()}  backend is up`);
        unreachableSince = null;
        log(`${timeOfDay()}  ${describePush(account, response)}`);
        onPush?.(account, response);
      } catch (error) {
        if (signal?.aborted) break;
        if (error instanceof PushError && !(error instanceof UnavailableError)) {
          allOk = false;
          log(`${timeOfDay()}  ${account.id} push failed: ${error.message}`);
          continue;
        }
        // No answer, or no backend behind the address: it is not up (yet). Say so once, then keep trying.
        if (unreachableSince === null) {
          unreachableSince = Date.now();
          log(
            `${timeOfDay()}  waiting for the backend at ${options.url} (${unreachableReason(error)}); retrying every ${retryMs / 1000} s…`,
          );
        }
        if (options.once && Date.now() - unreachableSince > waitMs) {
          log(`${timeOfDay()}  gave up: no backend at ${options.url} after ${Math.round(waitMs / 1000)} s`);
          return false;
        }
        retry = true;
        break;
      }
    }
    if (retry) {
      await sleep(retryMs, signal);
      continue;
    }
    if (options.once) break;
    await sleep(options.intervalMs, signal);
  }
  return allOk;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (parseFlags(argv, CRAWLER_FLAGS).help) {
    console.log(CRAWLER_USAGE);
    return 0;
  }
  const options = parseCrawlerArgs(argv);
  const controller = new AbortController();
  const stop = () => controller.abort();
  // `on`, not `once`: one Ctrl-C may arrive twice (from the terminal and relayed by npm/tsx).
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const { source } = devSecret();
  console.log(
    `simulated crawler → ${options.url} · tenant ${options.tenant} · ${options.accounts.join(", ")} · ` +
      (options.once ? "one push each" : `every ${options.intervalMs / 1000} s`) +
      ` · signing with ${source}`,
  );
  const ok = await runCrawler(options, { signal: controller.signal });
  if (controller.signal.aborted) console.log("crawler stopped");
  return ok ? 0 : 1;
}

if (isMain(import.meta.url)) runMain(main, CRAWLER_USAGE);
