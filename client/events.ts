/**
 * The adapter's listener sets, and the turning of delivered account events into the
 * crm-pc-im shapes they are announced with. It also learns which account each topic and
 * notification belongs to, so calls that name only a topic find their socket.
 */
import type { Channel, Topic } from "../src/contract/wire";
import { isWireMessage, toConversation, toCrmMessage, toMessageContext } from "./convert";
import { FrameListeners } from "./frame-listeners";
import { Listeners } from "./listeners";
import { PresenceLists } from "./presence";
import type { AdapterError, IncomingFrame } from "./requests";
import type { SequencedFrame } from "./sequencer";
import type {
  ConnectionStateEvent,
  LoginStatusEvent,
  Message,
  MessageContext,
  MessageStatusEvent,
  NotificationEvent,
  PresenceEvent,
  PresenceListEvent,
  QrCodeEvent,
  SyncCompleteEvent,
  SyncProgressEvent,
  SyncResetEvent,
  TopicUpdatedEvent,
} from "./types";

/** Where a frame came from: an account's socket, or the Directory (no `accountId`). */
export type FrameSource = { accountId?: string };

/**
 * @example
 * const events = new ClientEvents();
 * events.message.add((message) => console.log(message.content));
 * events.deliver("douyin-1", frame);
 */
export class ClientEvents {
  readonly message = new Listeners<[Message, MessageContext]>("onMessage");
  readonly messageUpdated = new Listeners<[Message, MessageContext]>("onMessageUpdated");
  readonly status = new Listeners<[MessageStatusEvent]>("onStatus");
  readonly topicUpdated = new Listeners<[TopicUpdatedEvent]>("onTopicUpdated");
  readonly channels = new Listeners<[Channel[]]>("onChannels");
  readonly notification = new Listeners<[NotificationEvent]>("onNotification");
  readonly qrCode = new Listeners<[QrCodeEvent]>("onQrCode");
  readonly loginStatus = new Listeners<[LoginStatusEvent]>("onLoginStatus");
  readonly tokenExpired = new Listeners<[FrameSource]>("onTokenExpired");
  readonly presence = new Listeners<[PresenceEvent]>("onPresence");
  readonly presenceList = new Listeners<[PresenceListEvent]>("onPresenceList");
  /** Who is online per account, kept from the room's lists and `status_change`. */
  readonly presenceLists = new PresenceLists();
  readonly syncReset = new Listeners<[SyncResetEvent]>("onSyncReset");
  readonly syncProgress = new Listeners<[SyncProgressEvent]>("onSyncProgress");
  readonly syncComplete = new Listeners<[SyncCompleteEvent]>("onSyncComplete");
  readonly connectionState = new Listeners<[ConnectionStateEvent]>("onConnectionState");
  readonly error = new Listeners<[AdapterError, FrameSource]>("onError");
  readonly frame = new Listeners<[IncomingFrame, FrameSource]>("onFrame");
  /** `on(type, cb)`: every frame but the account events as it arrives, each event once when delivered. */
  readonly byType = new FrameListeners();

  /** topicId → accountId, from every topic and message seen. */
  readonly topicAccounts = new Map<string, string>();
  /** notificationId → accountId. */
  readonly notificationAccounts = new Map<string, string>();

  /** An account event, delivered once and in order by its connection. */
  deliver(accountId: string, frame: SequencedFrame): void {
    const payload = frame.payload as Record<string, unknown> & { seq: number };
    const { seq } = payload;
    switch (frame.type) {
      case "channel:message":
      case "message:updated": {
        if (!isWireMessage(payload.message)) break;
        const wire = payload.message;
        this.topicAccounts.set(wire.topicId, accountId);
        const listeners = frame.type === "channel:message" ? this.message : this.messageUpdated;
        listeners.emit(toCrmMessage(wire), toMessageContext(wire, seq));
        break;
      }
      case "message:status":
        this.status.emit({ ...(payload as Omit<MessageStatusEvent, "accountId">), accountId });
        break;
      case "topic:updated": {
        const topic = payload.topic as Topic | undefined;
        if (typeof topic?.id !== "string") break;
        this.topicAccounts.set(topic.id, accountId);
        this.topicUpdated.emit({ accountId, seq, topic, conversation: toConversation(topic) });
        break;
      }
      case "notification:new": {
        const notification = payload.notification as NotificationEvent["notification"] | undefined;
        if (typeof notification?.id !== "string") break;
        this.notificationAccounts.set(notification.id, accountId);
        this.notification.emit({ accountId, seq, notification });
        break;
      }
      case "account:qrcode":
        if (typeof payload.image !== "string") break;
        this.qrCode.emit({ ...(payload as Omit<QrCodeEvent, "accountId">), accountId });
        break;
      case "account:login:status":
        this.loginStatus.emit({ ...(payload as Omit<LoginStatusEvent, "accountId">), accountId });
        break;
    }
    this.frame.emit(frame, { accountId });
    this.byType.emit(frame);
  }

  /** Any frame of an account's socket but its events, as it arrives. */
  roomIncoming(accountId: string, frame: IncomingFrame): void {
    // Every `monitor:topics` answer (requestTopics, or a raw emit) tells where its topics live.
    if (frame.type === "monitor:topics") {
      const topics = (frame.payload as { topics?: unknown } | undefined)?.topics;
      if (Array.isArray(topics))
        for (const topic of topics as { id?: unknown }[])
          if (typeof topic?.id === "string") this.topicAccounts.set(topic.id, accountId);
    }
    const changed = this.presenceLists.apply(accountId, frame);
    if (changed) this.presenceList.emit(changed);
    this.byType.emit(frame);
  }

  /** A frame of an account's socket that is neither an event nor an answer. */
  roomFrame(accountId: string, frame: IncomingFrame): void {
    if (frame.type === "status_change") {
      const payload = (frame.payload ?? {}) as Omit<PresenceEvent, "accountId">;
      this.presence.emit({ ...payload, accountId });
    }
    this.frame.emit(frame, { accountId });
  }
}
