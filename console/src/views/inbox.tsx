import { useState } from "preact/hooks";
import type { ConsoleModel } from "../model";
import { ChannelAdmin } from "./admin";
import { Avatar } from "./avatar";
import { ConnectionBanner } from "./banner";
import { ChannelList } from "./channels";
import { MessagePane, ReplyBox } from "./messages";
import { Notifications } from "./notifications";
import { OnlineNow } from "./online";
import { TopicList } from "./topics";
import { useModel } from "./use-model";

/** The three panes: channels, the open channel's topics, the open topic's messages. */
export function Inbox({ model, onSignOut }: { model: ConsoleModel; onSignOut: () => void }) {
  const state = useModel(model);
  const [showNotifications, setShowNotifications] = useState(false);
  const channel = state.channels.find((c) => c.id === state.channelId);
  const topic = state.topics.find((t) => t.id === state.topicId);
  const accountOpen = state.channelId !== null && state.accounts.get(state.channelId) === "open";

  return (
    <div class="app">
      <ConnectionBanner state={state} onDismissResets={() => model.dismissResets()} />
      {state.problem && (
        <p class="banner banner-error" role="alert">
          {state.problem}{" "}
          <button type="button" class="link" onClick={() => model.dismissProblem()}>
            Dismiss
          </button>
        </p>
      )}
      <div class="panes">
        <nav class="pane channels" aria-label="Channel list">
          <header class="pane-header">
            <div>
              <h1>Inbox</h1>
              <p class="hint">
                {state.subject} · {state.role}
              </p>
            </div>
            <div class="header-actions">
              <button
                type="button"
                aria-pressed={showNotifications}
                onClick={() => {
                  setShowNotifications(!showNotifications);
                  model.seeNotifications();
                  if (!showNotifications) void model.loadNotifications();
                }}
              >
                Notifications
                {state.unseenNotifications > 0 && <span class="badge">{state.unseenNotifications}</span>}
              </button>
              <button type="button" onClick={onSignOut}>
                Sign out
              </button>
            </div>
          </header>
          <ChannelList
            channels={state.channels}
            selected={state.channelId}
            onSelect={(id) => void model.openChannel(id)}
          />
        </nav>
        <section class="pane topics" aria-label="Topics of the channel">
          <header class="pane-header">
            {channel ? (
              <div class="title-line">
                <Avatar name={channel.name} url={channel.avatar} />
                <div>
                  <h2>{channel.name}</h2>
                  <p class="hint">
                    {channel.platform} · {channel.id}
                    {channel.lastSyncAt ? "" : " · never synced"}
                  </p>
                  <OnlineNow presence={state.online.get(channel.id)} />
                </div>
              </div>
            ) : (
              <h2>Topics</h2>
            )}
          </header>
          {channel && model.isAdmin && (
            <ChannelAdmin model={model} channel={channel} login={state.logins.get(channel.id)} />
          )}
          {channel ? (
            <TopicList
              topics={state.topics}
              loading={state.topicsLoading}
              selected={state.topicId}
              onSelect={(id) => void model.openTopic(id)}
            />
          ) : (
            <p class="empty">Choose a channel.</p>
          )}
        </section>
        <main class="pane conversation" aria-label="Conversation">
          {topic ? (
            <>
              <header class="pane-header">
                <div class="title-line">
                  <Avatar name={topic.title} url={topic.avatar} />
                  <div>
                    <h2>{topic.title}</h2>
                    <p class="hint">
                      {topic.kind === "work" ? "Comments on a work" : "Direct messages"} · {topic.messageCount} messages
                    </p>
                  </div>
                </div>
              </header>
              <MessagePane
                messages={state.messages}
                outgoing={state.outgoing}
                statuses={state.statuses}
                hasOlder={state.hasOlder}
                loadingOlder={state.loadingOlder}
                onLoadOlder={() => void model.loadOlder()}
              />
              <ReplyBox onSend={(text) => model.reply(text)} disabled={false} />
              {!accountOpen && (
                <p class="hint offline">Offline: replies are queued and sent when the connection is back.</p>
              )}
            </>
          ) : (
            <p class="empty center">{channel ? "Choose a topic." : "Choose a channel, then a topic."}</p>
          )}
        </main>
        {showNotifications && <Notifications items={state.notifications} onClose={() => setShowNotifications(false)} />}
      </div>
    </div>
  );
}
