import { useState } from "preact/hooks";

/** The token form; `message` says why the last token was refused. */
export function SignIn({ message, onToken }: { message: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState("");
  return (
    <main class="sign-in">
      <form
        class="sign-in-card"
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) onToken(token.trim());
        }}
      >
        <h1>HisCRM-IM console</h1>
        <p class="hint">Sign in with an agent or admin token.</p>
        {message && (
          <p class="error" role="alert">
            {message}
          </p>
        )}
        <label for="token">Token</label>
        <textarea
          id="token"
          name="token"
          rows={4}
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <button type="submit" disabled={!token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
