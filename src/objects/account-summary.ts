/**
 * What an AccountRoom tells its tenant's Directory (`Directory.updateSummary`): the account's
 * figures for its Channel and the statistics, counted in the same minute buckets on both sides.
 */
import type { HealthRecord } from "../health";

export const MINUTE_MS = 60_000;
/** The `pushes` windows of PROTOCOL §11 in whole minutes: the current one and the 59 (1,439) before it. */
export const HOUR_MINUTES = 60;
export const DAY_MINUTES = 1_440;

/** The account's figures the Directory shows as a Channel. */
export type AccountSummary = {
  id: string;
  name: string;
  avatar: string;
  platform: string;
  lastMessage: string;
  lastMessageTime: number;
  unreadCount: number;
  messageCount: number;
  lastSyncAt: number | null;
  seq: number;
  /** Stored facts only: the Directory derives the crawler's state from them whenever it reads. */
  health: HealthRecord;
  /** The account's statistics (PROTOCOL §11), sent with every summary. */
  figures?: RoomFigures;
};

/** What a room tells the Directory for the statistics; no figure needs its messages scanned. */
export type RoomFigures = {
  topics: number;
  notifications: number;
  /** The `clientId`s registered in the room (at most 1,000). */
  clients: string[];
  /**
   * `[minute, pushes]`, minute = ms / 60,000: each minute of the last day from the newest one
   * the Directory has taken on (its count may have grown since), with its whole count so far.
   */
  pushMinutes: [number, number][];
};
