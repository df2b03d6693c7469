/**
 * An app written against the seeds/000 WebSocketService, unchanged but for its service
 * module: the adapter's default instance, configured once. It must see every message once.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import websocketService from "../../client/adapter";
import type { Message } from "../../client/adapter";
import { startBackend } from "../backend";
import type { Backend } from "../backend";
import { network, sleep, waitFor } from "./network";

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  websocketService.disconnect();
  await backend?.stop();
});

/** seeds/000 App.tsx's initializeApp, as written there. */
async function initializeApp(masterUrl: string, store: Message[]): Promise<void> {
  await websocketService.connect(masterUrl);
  await websocketService.registerClient("crm-pc-im_device_1", "desktop");
  websocketService.startHeartbeat(25000);
  websocketService.onMessage((crmMessage) => {
    store.push(crmMessage);
  });
}

it("a seeds/000 app gets every message once through disconnects, after swapping in the adapter", async () => {
  await backend.push("douyin-1001", { contents: [{ work_id: "w1", title: "Spring sale" }] });
  const net = network();
  // The one change in the app: its service module configures the adapter.
  websocketService.configure({
    token: () => backend.token("agent"),
    WebSocket: net.WebSocket,
    reconnect: { minDelay: 30, maxDelay: 250, minUptime: 200 },
  });
  const store: Message[] = [];
  await initializeApp(backend.url, store);
  expect(websocketService.getIsConnected()).toBe(true);
  expect(websocketService.getClientId()).toBe("crm-pc-im_device_1");
  await waitFor(
    () => websocketService.getAccountState("douyin-1001")?.position.seq != null,
    "the account to be followed",
  );

  const expected: string[] = [];
  for (let push = 0; push < 10; push++) {
    const comments = Array.from({ length: 5 }, (_, i) => ({
      comment_id: `c${push}-${i}`,
      work_id: "w1",
      content: `comment ${push}-${i}`,
    }));
    expected.push(...comments.map((c) => c.comment_id));
    await backend.push("douyin-1001", { comments });
    if (push % 3 === 1) net.drop();
    await sleep(20);
  }
  await waitFor(() => store.length >= expected.length, "every message");
  await sleep(300);
  expect(store.map((m) => m.id)).toEqual(expected);
  expect(store.every((m) => m.topic === "w1" && m.type === "TEXT")).toBe(true);
});
