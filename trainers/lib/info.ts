/** Version every built-in trainer reports in `hello` (bump when a trainer's numerics change). */
export const BUILTIN_TRAINER_VERSION = '1.0.0';
