/**
 * Runs of each property. The push properties send one generated body per run (a repeat of a
 * body not counted), each checking its own count; totals.test.ts holds their sum to 1,000.
 */
export const RUNS = {
  pushes: 520,
  envelopes: 500,
  sharedIds: 100,
  loneSurrogates: 40,
  msgType: 30,
  frames: 250,
  validation: 600,
} as const;

/** The properties that each send one generated push body per run. */
export const PUSH_PROPERTIES = ["pushes", "envelopes", "sharedIds", "loneSurrogates", "msgType"] as const;
