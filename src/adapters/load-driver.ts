import { DatabaseError } from "../core/errors.js";

/**
 * Loads a database driver (a peer dependency) on first use, with an error that names the
 * package to install when it is missing.
 */
export async function loadDriver<T>(packageName: string, databaseName: string): Promise<T> {
  try {
    const module = (await import(packageName)) as { default?: T };
    return (module.default ?? module) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
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
