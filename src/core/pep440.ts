/**
 * PEP 440 versions (what Python's `packaging.Version` writes, and so what the seed's stamp
 * holds) as semver, keeping PEP 440's order wherever semver can express it.
 *
 * | PEP 440            | semver                     | why                                              |
 * | ------------------ | -------------------------- | ------------------------------------------------ |
 * | `0.10`             | `0.10.0`                   | missing release parts are zeros                  |
 * | `1.0.dev1`         | `1.0.0-0.dev.1`            | the leading numeric `0` sorts below `a`/`b`/`rc` |
 * | `1.0a1` / `1.0b2`  | `1.0.0-a.1` / `1.0.0-b.2`  | `alpha`/`beta`/`c`/`pre`/`preview` spell `a`/`b`/`rc` |
 * | `1.0rc1`           | `1.0.0-rc.1`               |                                                  |
 * | `1.0.post1`        | `1.0.0+post.1`             | sorts *equal* to `1.0`: a post-release repackages a release and carries its schema (semver has nothing between `1.0.0` and `1.0.1`) |
 * | `0.6.0.dev12+g1a`  | `0.6.0-0.dev.12+g1a`       | the local part is build metadata                 |
 * | `0!1.0`            | `1.0.0`                    | epoch 0 is the default                           |
 *
 * So `1.0.dev1 < 1.0a1 < 1.0rc1 < 1.0 = 1.0.post1 < 1.0.1`. Not mapped (null): a non-zero
 * epoch (`1!2.0.0`), more than three release parts, and dev or post releases of a
 * pre-release (`1.0a1.dev2`), whose PEP 440 order semver cannot keep.
 */

const PEP440 =
  /^v?(?:(\d+)!)?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:[-_.]?(post|rev|r)[-_.]?(\d*)|-(\d+))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/i;

const PRE_SPELLINGS: Record<string, string> = {
  a: "a",
  alpha: "a",
  b: "b",
  beta: "b",
  c: "rc",
  rc: "rc",
  pre: "rc",
  preview: "rc",
};

/** `value` (a PEP 440 version) as semver, or null when it is not one semver can order (see above). */
export function pep440ToSemver(value: string): string | null {
  const m = PEP440.exec(value.trim());
  if (!m) return null;
  const [, epoch, major, minor = "0", patch = "0", pre, preN, post, postN, implicitPost, dev, devN, local] =
    m;
  if (epoch !== undefined && Number(epoch) !== 0) return null;
  const isPost = post !== undefined || implicitPost !== undefined;
  if (pre !== undefined && (isPost || dev !== undefined)) return null;
  const release = [major, minor, patch].map((part) => String(Number(part))).join(".");
  const prerelease =
    pre !== undefined
      ? `-${PRE_SPELLINGS[pre.toLowerCase()]}.${Number(preN || 0)}`
      : dev !== undefined && !isPost
        ? `-0.dev.${Number(devN || 0)}`
        : "";
  const build = [
    isPost ? `post.${Number(postN || implicitPost || 0)}` : "",
    isPost && dev !== undefined ? `dev.${Number(devN || 0)}` : "",
    local ? local.toLowerCase().replace(/[-_]/g, ".") : "",
  ].filter(Boolean);
  return `${release}${prerelease}${build.length > 0 ? `+${build.join(".")}` : ""}`;
}
