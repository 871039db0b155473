/** The HTTP status of a failed API call, or undefined for transport errors. */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'number' && code >= 100 && code < 600) return code;
  }
  return undefined;
}

export const isConflict = (err: unknown): boolean => apiStatus(err) === 409;
export const isNotFound = (err: unknown): boolean => apiStatus(err) === 404;
