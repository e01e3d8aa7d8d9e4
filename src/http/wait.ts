/**
 * What POST /captures?wait accepts, in one place for the route that checks it
 * and the OpenAPI document that describes it.
 */

/** `?wait` (also `=done`, `=1`, `=true`): the final result; `?wait=armed`: the state once recording. */
export const WAIT_VALUES = ['', 'done', '1', 'true', 'armed'] as const;
