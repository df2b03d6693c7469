/**
 * What an AccountRoom does with each frame an agent's or admin's socket sends (PROTOCOL §6.2),
 * one handler per type; the socket layer has read and validated the frame before.
 */
import { ApiError } from "../../contract/errors";
import { MAX_TOPICS_LISTED } from "../../contract/schemas";
import type { RoomClientFrame, TopicPage } from "../../contract/schemas";
import type { PageKey } from "../../contract/page-cursor";
import type { FrameHandlers } from "../sockets/socket-object";
import { requireClientId, saveAttachment, send } from "../sockets/socket";
import type { RoomParts } from "./parts";
import type { RoomStore } from "./store/room-store";

export type TopicPageQuery = { limit?: number; cursor?: PageKey };

/** A page of the topic list; without a `limit`, today's whole list, but never more than MAX_TOPICS_LISTED. */
export function topicPage(store: RoomStore, { limit, cursor }: TopicPageQuery): TopicPage {
  return store.topics(limit ?? MAX_TOPICS_LISTED, cursor);
}

export function roomFrames(room: RoomParts): FrameHandlers<RoomClientFrame> {
  const { store, commit, fanout, cold, commandDelivery, housekeeping } = room;
  return {
    "monitor:register": async (ws, attachment, frame) => {
      const previous = attachment.registered ? attachment.clientId : undefined;
      attachment.clientId = frame.payload.clientId;
      attachment.registered = true;
      saveAttachment(ws, attachment);
      const arrived = fanout.register(ws, attachment, previous);
      const { seq, epoch } = store.account()!;
      const payload = { clientId: frame.payload.clientId, serverTime: Date.now(), seq, epoch, ...fanout.online() };
      send(ws, { type: "monitor:registered", id: frame.id, payload });
      // A client back after a restart changes nobody's list: no summary for it.
      if (arrived && fanout.presence(ws, attachment, "online")) await housekeeping.summarySoon(Date.now());
    },
    "monitor:request_topics": (ws, _attachment, frame) => {
      const payload = { channelId: store.channelId(), ...topicPage(store, frame.payload) };
      send(ws, { type: "monitor:topics", id: frame.id, payload });
    },
    "monitor:request_messages": async (ws, _attachment, frame) => {
      const { topicId, before, limit } = frame.payload;
      const page = await cold.messages(topicId, before, limit);
      send(ws, { type: "monitor:messages", id: frame.id, payload: { channelId: store.channelId(), topicId, ...page } });
    },
    "monitor:reply": async (ws, attachment, frame) => {
      const { message } = await commandDelivery.reply(frame.payload, attachment.sub);
      send(ws, { type: "monitor:reply:accepted", id: frame.id, payload: { message } });
    },
    "monitor:mark_read": async (_ws, _attachment, frame) => {
      const { topicId, seq } = frame.payload;
      await commit.run(
        () => {
          const event = store.markRead(topicId, seq);
          return { events: event ? [event] : [] };
        },
        async ({ events }) => {
          if (events.length) await housekeeping.sendSummary();
        },
      );
    },
    "sync:start": (ws, attachment, frame) => {
      fanout.replay(ws, frame.payload.since, frame.payload.epoch, attachment.role === "admin", frame.id);
    },
    ack: (ws, attachment, frame) => {
      const seq = store.log.saveCursor(attachment.sub, requireClientId(attachment), frame.payload.seq);
      if (frame.id) send(ws, { type: "ack", id: frame.id, payload: { seq } });
    },
    "client:notification:ack": (ws, attachment, frame) => {
      const clientId = requireClientId(attachment);
      const notificationSeq = store.notifications.markSent(frame.payload.notification_id, Date.now());
      if (notificationSeq === null) {
        throw new ApiError("not_found", `notification ${frame.payload.notification_id} does not exist`);
      }
      const seq = store.log.saveCursor(attachment.sub, clientId, notificationSeq);
      if (frame.id) send(ws, { type: "ack", id: frame.id, payload: { seq } });
    },
    "monitor:request_presence": (ws, _attachment, frame) => {
      send(ws, { type: "monitor:presence", id: frame.id, payload: fanout.online() });
    },
    "monitor:request_notifications": (ws, _attachment, frame) => {
      const page = store.notifications.page(frame.payload.before, frame.payload.limit);
      send(ws, { type: "monitor:notifications", id: frame.id, payload: page });
    },
    "account:login:start": async (_ws, attachment) => {
      if (attachment.role !== "admin") throw new ApiError("forbidden", "account:login:start needs the admin role");
      await commandDelivery.login();
    },
  };
}
