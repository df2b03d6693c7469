/**
 * How the simulated crawler carries out what agents and admins ask (PROTOCOL §7): a reply
 * is posted after a short random delay (a few fail once, so the failure path shows, and
 * succeed when retried); a QR login shows a real QR code, is scanned, and succeeds.
 */
import QRCode from "qrcode";
import type { CommandHandler, CommandResult, CrawlerClient } from "../../client/crawler";
import type { Command } from "../../src/contract/schemas";
import type { Outbox } from "./outbox";

export type CommandOptions = {
  client: CrawlerClient;
  outbox: Outbox;
  log: (line: string) => void;
  /** Share of replies whose first attempt fails (default 0.05). */
  failRate?: number;
  /** A reply is posted after between `minDelayMs` and `maxDelayMs` (defaults 300 and 1500). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Between the QR code, its scan and the login's success (default 2000). */
  loginStepMs?: number;
  random?: () => number;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The handler `client.listen` runs for each command of an account. */
export function simulatedHandler(options: CommandOptions): CommandHandler {
  const { client, outbox, log, random = Math.random } = options;
  const failRate = options.failRate ?? 0.05;
  const [minDelay, maxDelay] = [options.minDelayMs ?? 300, options.maxDelayMs ?? 1500];
  const loginStepMs = options.loginStepMs ?? 2000;

  async function carryOutReply(command: Command, accountId: string): Promise<CommandResult> {
    await sleep(minDelay + random() * (maxDelay - minDelay));
    if (command.attempts === 0 && random() < failRate) {
      log(`${accountId} reply ${command.id} failed (simulated); the backend will send it again`);
      return { status: "failed", error: "simulated: the platform asked for a captcha" };
    }
    const platformId = `sim-${command.id}`;
    outbox.post(accountId, command, platformId, Date.now());
    log(`${accountId} reply sent on ${command.topicId}: ${command.content}`);
    return { status: "sent", platformMessageId: platformId };
  }

  async function carryOutLogin(command: Command, accountId: string): Promise<void> {
    const expiresAt = Date.now() + 120_000;
    const image = await QRCode.toDataURL(`https://sim.douyin.example/login?account=${accountId}&c=${command.id}`);
    await client.reportQrcode(accountId, image, expiresAt);
    log(`${accountId} login: QR code shown`);
    await sleep(loginStepMs);
    await client.reportLoginStatus(accountId, "scanned");
    log(`${accountId} login: scanned`);
    await sleep(loginStepMs);
    await client.reportLoginStatus(accountId, "success");
    log(`${accountId} login: success`);
  }

  return async function handleCommand(command, accountId) {
    if (command.type === "login") return carryOutLogin(command, accountId);
    return carryOutReply(command, accountId);
  };
}
