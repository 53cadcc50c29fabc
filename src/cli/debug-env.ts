/** Is `LOCKSTEP_DEBUG` on (anything but unset, empty, `0` or `false`)? */
export function isDebugEnv(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}
