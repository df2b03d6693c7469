/**
 * The console: the token form until a token has been checked, then the inbox. A token comes
 * from `#token=`, the form or `localStorage`, and is checked over HTTP before any socket
 * opens, so a bad one gets words instead of a blank page.
 */
import { useEffect, useState } from "preact/hooks";
import { checkToken } from "../../client/adapter";
import type { TokenCheckResult } from "../../client/adapter";
import { ConsoleModel } from "./model";
import { forgetToken, keepToken, storedToken, takeFragmentToken } from "./session";
import { Inbox } from "./views/inbox";
import { SignIn } from "./views/sign-in";

type Screen = { name: "checking" } | { name: "form"; message: string | null } | { name: "inbox"; model: ConsoleModel };

/** What the form says about a refused token. */
function refusal(check: Exclude<TokenCheckResult, { ok: true }>): string {
  switch (check.problem) {
    case "expired":
      return `Token expired: ${check.message}. Paste a new token.`;
    case "malformed":
      return `This token is malformed or not signed for this backend: ${check.message}.`;
    case "forbidden":
      return `This token cannot read the console: ${check.message}. Use an agent or admin token.`;
    case "unreachable":
      return `The backend did not answer: ${check.message}.`;
  }
}

export function App() {
  const [screen, setScreen] = useState<Screen>({ name: "checking" });

  async function signIn(token: string): Promise<void> {
    setScreen({ name: "checking" });
    const check = await checkToken(location.origin, token);
    if (!check.ok) {
      // A token the backend refuses is not kept: a reload must not try it again.
      if (check.problem !== "unreachable") forgetToken();
      setScreen({ name: "form", message: refusal(check) });
      return;
    }
    keepToken(token);
    const model: ConsoleModel = new ConsoleModel({
      url: location.origin,
      token,
      role: check.role,
      subject: check.subject,
      onExpired: () => {
        model.stop();
        forgetToken();
        setScreen({ name: "form", message: "Token expired: the backend closed the connection. Paste a new token." });
      },
    });
    setScreen({ name: "inbox", model });
    model.start().catch((error: Error) => {
      model.stop();
      setScreen({ name: "form", message: `Could not connect: ${error.message}` });
    });
  }

  function signOut(): void {
    if (screen.name === "inbox") screen.model.stop();
    forgetToken();
    setScreen({ name: "form", message: null });
  }

  useEffect(() => {
    const token = takeFragmentToken() ?? storedToken();
    if (token) void signIn(token);
    else setScreen({ name: "form", message: null });
  }, []);

  if (screen.name === "checking") return <p class="splash">Checking the token…</p>;
  if (screen.name === "form") return <SignIn message={screen.message} onToken={(token) => void signIn(token)} />;
  return <Inbox model={screen.model} onSignOut={signOut} />;
}
