/**
 * Item recipes: generated snapshot items of every kind, valid or spoiled in one field, with
 * ids that carry a per-run nonce so every run talks about items the account has never seen.
 */
import fc from "fast-check";
import { MAX_CONTENT_CHARS, MAX_ITEM_BYTES } from "../../src/contract/snapshot";
import type { Obj } from "./expect";
import { clip, cleanText, define, FILL, ID_MAX, NAME, resolve, sized, TITLE, URL_MAX } from "./text";
import {
  badCount,
  badDirection,
  badOptionalId,
  badRequiredId,
  badRequiredText,
  badStats,
  badText,
  badTime,
  badUser,
  count,
  extras,
  msgType,
  notAnObject,
  optionalId,
  requiredText,
  text,
  time,
  user,
} from "./values";

/** The lists of a snapshot, one per kind of item. */
export const ITEM_KINDS = ["contents", "comments", "conversations", "messages", "notifications"] as const;
export type Kind = (typeof ITEM_KINDS)[number];

/** How a slot's id looks in one run: a string (with hostile text), a number, a negative number, exactly 256 units. */
type IdForm = { form: "str" | "num" | "neg" | "long"; suffix: string; fill: string };
const idForm = (): fc.Arbitrary<IdForm> =>
  fc.record({
    form: fc.constantFrom("str", "str", "str", "num", "neg", "long"),
    suffix: cleanText.map((s) => clip(s, 160)),
    fill: fc.constantFrom(...FILL),
  });

const TAG_INDEX = { w: 0, v: 1, c: 2, m: 3, n: 4 } as const;
type Tag = keyof typeof TAG_INDEX;

/** The id of slot `slot` in run `nonce`, as sent (a number for numeric forms unless `asString`). */
function idValue(tag: Tag, nonce: number, slot: number, form: IdForm, asString: boolean): string | number {
  const n = 1_000_000_000 + nonce * 1000 + TAG_INDEX[tag] * 100 + slot;
  switch (form.form) {
    case "num":
      return asString ? String(n) : n;
    case "neg":
      return asString ? String(-n) : -n;
    case "str":
      return `${tag}${nonce}.${slot}:${form.suffix}`;
    case "long": {
      const head = `${tag}${nonce}.${slot}~`;
      return head + sized(ID_MAX - head.length, form.fill);
    }
  }
}

type Mutation =
  | { op: "set"; field: string; value: unknown; path: string }
  | { op: "drop"; fields: string[]; path: string }
  | { op: "replace"; value: unknown; path: "" }
  | { op: "oversize"; path: "" };

type Recipe = {
  slot: number;
  asString: boolean;
  /** comments only: which id field(s) carry the id */
  idStyle: "comment_id" | "platform_comment_id" | "both";
  topic: number;
  topicAsString: boolean;
  fields: Obj;
  extras: [string, unknown][];
  mutation: Mutation | null;
};

const set = (field: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> =>
  value.map((v) => ({ op: "set", field, value: v, path: field }));
const setNested = (field: string, value: fc.Arbitrary<[unknown, string]>): fc.Arbitrary<Mutation> =>
  value.map(([v, suffix]) => ({ op: "set", field, value: v, path: field + suffix }));
const drop = (fields: string[], path = fields[0]!): fc.Arbitrary<Mutation> => fc.constant({ op: "drop", fields, path });
const wholeItem: fc.Arbitrary<Mutation>[] = [
  notAnObject.map((value): Mutation => ({ op: "replace", value, path: "" })),
];
/** An item over the item limit: rarer than the others, each one is a quarter MiB. */
const oversize = fc.constant<Mutation>({ op: "oversize", path: "" });

type KindSpec = {
  tag: Tag;
  idField: string;
  /** the topic reference: comments → works, DMs → conversations */
  topicField?: string;
  topicTag?: Tag;
  required: Record<string, fc.Arbitrary<unknown>>;
  optional: Record<string, fc.Arbitrary<unknown>>;
  mutations: fc.Arbitrary<Mutation>[];
};

/**
 * Each kind's fields and how each is spoiled. Text in validated fields is generated well-formed;
 * lone surrogates have their own property in lone-surrogates.test.ts.
 */
export const SPECS: Record<Kind, KindSpec> = {
  contents: {
    tag: "w",
    idField: "work_id",
    required: {},
    optional: {
      title: text(TITLE),
      cover: text(URL_MAX),
      publish_time: time,
      stats: fc.oneof(fc.record({ comment_count: count, like_count: count }, { requiredKeys: [] }), fc.constant(null)),
    },
    mutations: [
      drop(["work_id"]),
      set("work_id", badRequiredId),
      set("title", badText(TITLE)),
      set("cover", badText(URL_MAX)),
      set("publish_time", badTime),
      setNested("stats", badStats),
      ...wholeItem,
    ],
  },
  comments: {
    tag: "c",
    idField: "comment_id",
    topicField: "work_id",
    topicTag: "w",
    required: { content: requiredText(MAX_CONTENT_CHARS) },
    optional: {
      author_id: optionalId,
      author_name: text(NAME),
      author_avatar: text(URL_MAX),
      create_time: time,
      parent_comment_id: optionalId,
      like_count: count,
    },
    mutations: [
      drop(["comment_id", "platform_comment_id"]),
      set("comment_id", badOptionalId),
      set("platform_comment_id", badOptionalId),
      drop(["work_id"]),
      set("work_id", badRequiredId),
      drop(["content"]),
      set("content", badRequiredText(MAX_CONTENT_CHARS)),
      set("author_id", badOptionalId),
      set("author_name", badText(NAME)),
      set("author_avatar", badText(URL_MAX)),
      set("create_time", badTime),
      set("parent_comment_id", badOptionalId),
      set("like_count", badCount),
      ...wholeItem,
    ],
  },
  conversations: {
    tag: "v",
    idField: "conversation_id",
    required: {},
    optional: { participant: user(), unread_count: count, update_time: time },
    mutations: [
      drop(["conversation_id"]),
      set("conversation_id", badRequiredId),
      setNested("participant", badUser),
      set("unread_count", badCount),
      set("update_time", badTime),
      ...wholeItem,
    ],
  },
  messages: {
    tag: "m",
    idField: "msg_id",
    topicField: "conversation_id",
    topicTag: "v",
    required: { content: requiredText(MAX_CONTENT_CHARS) },
    optional: {
      msg_type: msgType,
      sender: user(),
      direction: fc.constantFrom("in", "out", null),
      create_time: time,
      file_url: text(URL_MAX),
      file_name: text(NAME),
    },
    mutations: [
      drop(["msg_id"]),
      set("msg_id", badRequiredId),
      drop(["conversation_id"]),
      set("conversation_id", badRequiredId),
      drop(["content"]),
      set("content", badRequiredText(MAX_CONTENT_CHARS)),
      set("msg_type", badText(32)),
      setNested("sender", badUser),
      set("direction", badDirection),
      set("create_time", badTime),
      set("file_url", badText(URL_MAX)),
      set("file_name", badText(NAME)),
      ...wholeItem,
    ],
  },
  notifications: {
    tag: "n",
    idField: "notification_id",
    required: {},
    optional: {
      type: text(64),
      title: text(TITLE),
      content: text(MAX_CONTENT_CHARS),
      create_time: time,
      related_id: optionalId,
    },
    mutations: [
      drop(["notification_id"]),
      set("notification_id", badRequiredId),
      set("type", badText(64)),
      set("title", badText(TITLE)),
      set("content", badText(MAX_CONTENT_CHARS)),
      set("create_time", badTime),
      set("related_id", badOptionalId),
      ...wholeItem,
    ],
  },
};

const SLOTS = 6;
const TOPIC_SLOTS = 2;

const recipe = (kind: Kind): fc.Arbitrary<Recipe> => {
  const spec = SPECS[kind];
  return fc.record({
    slot: fc.nat({ max: SLOTS - 1 }),
    asString: fc.boolean(),
    idStyle: fc.constantFrom("comment_id", "comment_id", "platform_comment_id", "both"),
    topic: fc.nat({ max: TOPIC_SLOTS - 1 }),
    topicAsString: fc.boolean(),
    fields: fc.record(
      { ...spec.required, ...spec.optional },
      { requiredKeys: Object.keys(spec.required) as never[] },
    ) as unknown as fc.Arbitrary<Obj>,
    extras,
    mutation: fc.oneof(
      { arbitrary: fc.constant(null), weight: 60 },
      { arbitrary: fc.oneof(...spec.mutations), weight: 20 },
      { arbitrary: oversize, weight: 1 },
    ),
  });
};

type Names = Record<Tag, IdForm[]>;
const names: fc.Arbitrary<Names> = fc.record({
  w: fc.array(idForm(), { minLength: TOPIC_SLOTS, maxLength: TOPIC_SLOTS }),
  v: fc.array(idForm(), { minLength: TOPIC_SLOTS, maxLength: TOPIC_SLOTS }),
  c: fc.array(idForm(), { minLength: SLOTS, maxLength: SLOTS }),
  m: fc.array(idForm(), { minLength: SLOTS, maxLength: SLOTS }),
  n: fc.array(idForm(), { minLength: SLOTS, maxLength: SLOTS }),
});

/** One generated push: the run's id forms, the items of each kind, and whether the same body is sent twice. */
export type PushCase = { names: Names; items: Partial<Record<Kind, Recipe[]>>; repeat: boolean };
export const pushCase: fc.Arbitrary<PushCase> = fc.record({
  names,
  items: fc.record(
    Object.fromEntries(ITEM_KINDS.map((kind) => [kind, fc.array(recipe(kind), { maxLength: 6 })])) as Record<
      Kind,
      fc.Arbitrary<Recipe[]>
    >,
    { requiredKeys: [] },
  ),
  repeat: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
});

/** The item as sent, or the non-object that replaces it. */
export function materialize(kind: Kind, r: Recipe, n: Names, nonce: number): unknown {
  const spec = SPECS[kind];
  const item: Obj = {};
  // Works and conversations are the run's topics: their slots are the topic slots.
  const slot = kind === "contents" || kind === "conversations" ? r.topic : r.slot;
  const id = idValue(spec.tag, nonce, slot, n[spec.tag][slot]!, r.asString);
  if (kind === "comments") {
    if (r.idStyle !== "platform_comment_id") item.comment_id = id;
    if (r.idStyle === "platform_comment_id") item.platform_comment_id = id;
    if (r.idStyle === "both") item.platform_comment_id = `alt${nonce}.${r.slot}`;
  } else {
    item[spec.idField] = id;
  }
  if (spec.topicField && spec.topicTag) {
    item[spec.topicField] = idValue(spec.topicTag, nonce, r.topic, n[spec.topicTag][r.topic]!, r.topicAsString);
  }
  for (const [key, value] of Object.entries(r.fields)) item[key] = resolve(value);
  for (const [key, value] of r.extras) define(item, key, resolve(value));
  const m = r.mutation;
  if (!m) return item;
  switch (m.op) {
    case "set":
      item[m.field] = resolve(m.value);
      return item;
    case "drop":
      for (const field of m.fields) delete item[field];
      return item;
    case "replace":
      return resolve(m.value);
    case "oversize":
      item.x_padding = "x".repeat(MAX_ITEM_BYTES);
      return item;
  }
}
