import { DatabaseError } from "../core/errors.js";

/**
 * Loads a database driver (a peer dependency) on first use, with an error that names the
 * package to install when it is missing. `specifier` may name a subpath (`mysql2/promise`).
 */
export async function loadDriver<T>(specifier: string, databaseName: string): Promise<T> {
  try {
    const module = (await import(specifier)) as { default?: T };
    return (module.default ?? module) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
      const packageName = packageOf(specifier);
      throw new DatabaseError(
        "E_DRIVER_MISSING",
        `the ${databaseName} driver "${packageName}" is not installed`,
        {
          cause: error,
          hint: `npm install ${packageName}`,
        },
      );
    }
    throw error;
  }
}

/** The package a module specifier lives in: `mysql2/promise` → `mysql2`, `@scope/pkg/sub` → `@scope/pkg`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return parts.slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
}
