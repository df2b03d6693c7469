/**
 * Where the console's token comes from and stays (PROTOCOL §12): the `#token=` fragment
 * (removed from the address bar once read) or the form, then `localStorage` until "Sign out".
 */

const TOKEN_KEY = "hiscrm-console:token";

/** The token in `#token=…`, removed from the address bar and history; null when there is none. */
export function takeFragmentToken(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token === null) return null;
  history.replaceState(history.state, "", `${location.pathname}${location.search}`);
  return token.trim() || null;
}

export function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function keepToken(token: string): void {
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Private modes may refuse storage: the session still works until the tab closes.
  }
}

export function forgetToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing was kept.
  }
}
