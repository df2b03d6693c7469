/**
 * Deterministic crawler snapshots (PROTOCOL §4) of realistic size: a comment is ~275 bytes of
 * JSON with Chinese and Latin text, an author and an avatar URL, as the Douyin crawler sends
 * (about 15,000 of them fit in one push under the 4 MiB limit: see docs/BENCHMARKS.md).
 */

export type Comment = {
  comment_id: string;
  work_id: string;
  content: string;
  author_id: string;
  author_name: string;
  author_avatar: string;
  create_time: number;
  parent_comment_id: string | null;
  like_count: number;
};

const PHRASES = ["太好看了", "求链接", "这个多少钱", "已关注", "什么时候更新", "哈哈哈哈", "支持一下", "同款在哪买"];
/** Seconds; every comment's time is this plus its number, so order is stable across pushes. */
const BASE_TIME = 1_730_000_000;

/** Comment number `k` of `account`, in work `work`. */
export function comment(account: string, k: number, work: string): Comment {
  const author = (k * 7919) % 100_000;
  return {
    comment_id: `${account}-c${k}`,
    work_id: work,
    content: `${PHRASES[k % PHRASES.length]} #${k} — great video!`,
    author_id: `u${author}`,
    author_name: `用户${author}`,
    author_avatar: `https://p3.douyinpic.com/aweme/100x100/${author}.jpeg`,
    create_time: BASE_TIME + k,
    parent_comment_id: null,
    like_count: k % 17,
  };
}

/** Comments `from`…`from + count - 1`, spread round-robin over `works` works (`w0`, `w1`…). */
export function comments(account: string, from: number, count: number, works = 20): Comment[] {
  return Array.from({ length: count }, (_, i) => comment(account, from + i, `w${(from + i) % works}`));
}

/** A push body as a crawler sends it. */
export function pushBody(
  accountId: string,
  snapshot: { comments?: unknown[]; contents?: unknown[] },
  timestamp = Date.now(),
): string {
  return JSON.stringify({
    type: "worker:data:sync",
    accountId,
    platform: "douyin",
    account: { name: `Bench ${accountId}`, platform_user_id: `self-${accountId}` },
    timestamp,
    snapshot,
  });
}
