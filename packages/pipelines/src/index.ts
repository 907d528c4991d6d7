/** Parry's library API (see README): the CLI only wraps these functions. */
export {};
