import { UsageError } from "../core/errors.js";

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A CLI duration in ms: "90s", "15m", "500ms", "1h30m", or a plain number of seconds.
 * `positive` refuses zero (a budget of nothing is a mistake, not a limit).
 */
export function parseDuration(value: string, option: string, { positive = false } = {}): number {
  const text = value.trim().toLowerCase();
  const parts = /^\d+(\.\d+)?$/.test(text)
    ? [[text, text, "s"]]
    : [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)].map((m) => [m[0], m[1], m[2]]);
  const ms = Math.round(
    parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNITS[unit ?? "s"] ?? 1000), 0),
  );
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text || (positive && ms <= 0)) {
    throw new UsageError(
      "E_USAGE",
      `${option} ${JSON.stringify(value)} is not a${positive ? " positive" : ""} duration`,
      {
        hint: `e.g. ${option} 15m, ${option} 90s, ${option} 1h30m (units: ms, s, m, h; a plain number is seconds)`,
      },
    );
  }
  return ms;
}
